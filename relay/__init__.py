"""The relay service: ufrag-routed, stateless UDP forwarding in front of transceivers."""
