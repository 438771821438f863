"""The transceiver service: HTTP signaling (WHIP, /offer) and session placement."""
