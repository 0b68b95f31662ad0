"""The pure core: no sockets, no event loop, no disk writes."""
