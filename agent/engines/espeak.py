"""Text to speech with Debian's espeak-ng binary (formant synthesis: robotic, but small, fast and
in every distribution). ``espeak-ng --stdout`` writes a WAV stream whose sizes are left open
(0x7ffff...), so the header is read up to the ``data`` chunk and the samples are passed on as
they arrive.
"""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess
import threading
from collections.abc import Generator
from typing import IO

from agent.engines import EngineUnavailable

logger = logging.getLogger(__name__)

SAMPLE_RATE = 22050  # espeak-ng's only output rate
_READ = 4096


class EspeakError(RuntimeError):
    """espeak-ng wrote something other than 16-bit mono WAV at 22,050 Hz, or failed."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EspeakError("espeak-ng's WAV header is cut short")
    return data


def _skip_header(stream: IO[bytes]) -> None:
    """Read the RIFF header and chunks up to the start of the samples, checking the format."""
    riff, _size, wave = struct.unpack("<4sI4s", _read_exactly(stream, 12))
    if riff != b"RIFF" or wave != b"WAVE":
        raise EspeakError("espeak-ng did not write WAV")
    while True:
        tag, size = struct.unpack("<4sI", _read_exactly(stream, 8))
        if tag == b"data":
            return
        body = _read_exactly(stream, size + (size & 1))
        if tag == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if (fmt, channels, rate, bits) != (1, 1, SAMPLE_RATE, 16):
                raise EspeakError(f"espeak-ng wrote format {fmt}, {channels} ch, {rate} Hz, "
                                  f"{bits} bits")


def _feed(stdin: IO[bytes], data: bytes) -> None:
    try:
        stdin.write(data)
        stdin.close()
    except BrokenPipeError:  # killed early: nobody wants the rest
        pass


class EspeakSynthesizer:
    """:class:`agent.interfaces.Synthesizer` over the espeak-ng command. Text goes in on
    standard input (never as an argument, so no text is read as an option); PCM is yielded in
    ~93 ms pieces while espeak-ng is still speaking."""

    sample_rate = SAMPLE_RATE

    def __init__(self, voice: str = "en-us", words_per_minute: int = 175,
                 binary: str = "espeak-ng") -> None:
        path = shutil.which(binary)
        if path is None:
            raise EngineUnavailable(f"{binary} is not installed (Debian package espeak-ng)")
        self.command = [path, "-v", voice, "-s", str(words_per_minute), "--stdout"]

    def synthesize(self, text: str) -> Generator[bytes, None, None]:
        with subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as process:
            assert process.stdin is not None and process.stdout is not None
            # Written from a thread: espeak-ng speaks while it reads, and a text longer than the
            # pipe would otherwise block us on stdin while it blocks on a full stdout.
            writer = threading.Thread(target=_feed, args=(process.stdin, text.encode("utf-8")),
                                      daemon=True)
            writer.start()
            try:
                _skip_header(process.stdout)
                odd = b""
                while chunk := process.stdout.read(_READ):
                    chunk = odd + chunk
                    cut = len(chunk) & ~1
                    odd = chunk[cut:]
                    if cut:
                        yield chunk[:cut]
            finally:
                # A consumer that stops early (barge-in) must not leave espeak-ng running.
                if process.poll() is None:
                    process.kill()
        if process.returncode not in (0, -9):
            raise EspeakError(f"espeak-ng exited with {process.returncode}")
