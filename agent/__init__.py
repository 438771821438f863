"""The voice agent (issue 14): OpenAI Realtime-compatible events over a data channel, audio on
the RTP track, and four swappable parts (speech detection, recognition, the brain, synthesis)
whose seams are in :mod:`agent.interfaces`."""
