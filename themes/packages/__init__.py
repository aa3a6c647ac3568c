"""Control plane: theme packages and their versions, shared by many shops."""
