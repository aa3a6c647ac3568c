"""A DNS server on loopback (UDP) answering TXT queries from a dict, for domain verification."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class FakeDnsServer:
    """`records` maps a name (no trailing dot) to its TXT strings; unknown names are NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.address = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self._running = True
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakeDnsServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._running = False
        self._thread.join(timeout=2)
        self._socket.close()

    def _serve(self) -> None:
        while self._running:
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            values = self.records.get(name)
            if values is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                response.answer.append(
                    dns.rrset.from_text(
                        question.name,
                        60,
                        dns.rdataclass.IN,
                        dns.rdatatype.TXT,
                        *[f'"{value}"' for value in values],
                    )
                )
            self._socket.sendto(response.to_wire(), client)
