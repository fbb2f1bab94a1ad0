"""A minimal Standard MIDI File writer: timed notes on a few channels -> format-0 file bytes."""

from __future__ import annotations

import struct
from dataclasses import dataclass

TICKS_PER_QUARTER = 480


@dataclass(frozen=True)
class MidiNote:
    """One note to play; times are in quarter notes from the start of the clip."""

    onset: float  # quarter notes
    duration: float  # quarter notes, > 0
    pitch: int  # MIDI number 0..127
    velocity: int  # 1..127
    channel: int  # 0..15 (9 is the GM drum channel; the corpus never uses it)


def _varlen(value: int) -> bytes:
    # MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last.
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_file_bytes(
    notes: list[MidiNote],
    *,
    bpm: float,
    programs: dict[int, int],
    end: float,
    meter: tuple[int, int] = (4, 4),
    volume: int = 100,
) -> bytes:
    """Encode notes as a format-0 SMF at a fixed tempo.

    bpm: quarter notes per minute. programs: channel -> GM program (0-based). end: the track
    length in quarter notes; notes are cut there, so the renderer stops at a known time.
    Identical arguments give identical bytes (events are sorted with a total order).
    """
    if not 1.0 <= bpm <= 1000.0:
        raise ValueError(f"midi_file_bytes: bpm must be in [1, 1000], got {bpm}")
    if end <= 0:
        raise ValueError(f"midi_file_bytes: end must be > 0 quarter notes, got {end}")
    end_tick = round(end * TICKS_PER_QUARTER)
    # (tick, order, payload): at one tick, setup < note-offs < note-ons, so a repeated pitch
    # is released before it is struck again.
    events: list[tuple[int, int, bytes]] = []
    tempo_us = round(60_000_000 / bpm)
    events.append((0, 0, b"\xff\x51\x03" + tempo_us.to_bytes(3, "big")))
    num, den = meter
    den_pow = max(0, den.bit_length() - 1)
    events.append((0, 0, bytes([0xFF, 0x58, 0x04, num & 0x7F, den_pow, 24, 8])))
    for channel, program in sorted(programs.items()):
        events.append((0, 0, bytes([0xC0 | channel, program & 0x7F])))
        events.append((0, 0, bytes([0xB0 | channel, 7, volume & 0x7F])))
    for n in notes:
        on = round(n.onset * TICKS_PER_QUARTER)
        off = min(round((n.onset + n.duration) * TICKS_PER_QUARTER), end_tick)
        if on >= end_tick or off <= on:
            continue
        pitch = min(max(n.pitch, 0), 127)
        velocity = min(max(n.velocity, 1), 127)
        events.append((on, 2, bytes([0x90 | n.channel, pitch, velocity])))
        events.append((off, 1, bytes([0x80 | n.channel, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    track = bytearray()
    tick = 0
    for at, _, payload in events:
        track += _varlen(at - tick) + payload
        tick = at
    track += _varlen(max(end_tick - tick, 0)) + b"\xff\x2f\x00"  # end of track
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)
