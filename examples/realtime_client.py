"""Talk to a Realtime-compatible voice agent from Python (this repository's, or OpenAI's by
changing the URL and key): speak a WAV file and/or type a message, print the conversation,
save what the agent said.

    python examples/realtime_client.py http://127.0.0.1:8080 --wav question.wav --out reply.wav
    python examples/realtime_client.py http://127.0.0.1:8080 --say "what is six times seven"
"""

from __future__ import annotations

import argparse
import asyncio
import wave

from agent.client import RATE, RealtimeCall, read_pcm48k


async def main(args: argparse.Namespace) -> None:
    call = RealtimeCall(args.url, token=args.token)
    await call.connect()
    print("connected:", call.call_id)
    turns = 0
    if args.wav:
        ended = await call.say_pcm(read_pcm48k(args.wav))
        await call.wait_for("response.done", timeout=args.timeout)
        first = call.heard.first_loud_after(ended)
        if first is not None:
            print(f"first reply audio {1000 * (first - ended):.0f} ms after the end of speech")
        turns += 1
    if args.say:
        call.type_text(args.say)
        await call.wait_for("response.done", since=len(call.events), timeout=args.timeout)
        turns += 1
    await asyncio.sleep(1.0)  # the last sentence's audio is still arriving
    for event in call.events:
        if event["type"] == "conversation.item.input_audio_transcription.completed":
            print("you:  ", event["transcript"])
        elif event["type"] == "response.output_audio_transcript.done":
            print("agent:", event["transcript"])
    if args.out:
        with wave.open(args.out, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(call.heard.pcm())
        print("saved the agent's audio to", args.out)
    await call.hangup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", help="Bearer token or ephemeral key (ek_...)")
    parser.add_argument("--wav", help="an audio file to speak")
    parser.add_argument("--say", help="a message to type")
    parser.add_argument("--out", help="save the agent's audio to this WAV file")
    parser.add_argument("--timeout", type=float, default=30)
    asyncio.run(main(parser.parse_args()))
