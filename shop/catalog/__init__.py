"""The shop's catalog: categories, products, options and SKUs, stock, search."""
