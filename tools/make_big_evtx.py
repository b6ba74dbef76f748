#!/usr/bin/env python3
"""Writes a large, valid EVTX by repeating the chunks of a real one.

Each copy of a chunk gets fresh record ids: in every record header, in the chunk header, and in
the EventRecordID value among the record's BinXML substitution values (the UInt64 equal to the
old header id), and every CRC32 is recomputed, so parsers see one long log of distinct records.
Everything else in the events is the real data, repeated.

usage: make_big_evtx.py SOURCE.evtx OUT.evtx --records N
"""
import argparse
import struct
import sys
import zlib

CHUNK = 65536
HEADER = 4096


def chunks_of(data):
    for off in range(HEADER, len(data) - CHUNK + 1, CHUNK):
        chunk = data[off:off + CHUNK]
        if chunk[:8] == b"ElfChnk\x00":
            yield bytearray(chunk)


def records_in(chunk):
    free = struct.unpack_from("<I", chunk, 48)[0]
    off = 512
    while off + 24 <= free:
        if chunk[off:off + 4] != b"\x2a\x2a\x00\x00":
            break
        size = struct.unpack_from("<I", chunk, off + 4)[0]
        if size < 24 or off + size > free:
            break
        yield off, size
        off += size


def record_id_value_offset(chunk, off, size, old):
    """Chunk offset of the UInt64 substitution value equal to `old`, or None."""
    pos = off + 24
    end = off + size - 4
    if chunk[pos:pos + 4] != b"\x0f\x01\x01\x00" or chunk[pos + 4] & 0x0F != 0x0C:
        return None
    pos += 4 + 2 + 4  # template instance token, unknown byte, template id
    def_off = struct.unpack_from("<I", chunk, pos)[0]
    pos += 4
    if def_off == pos:  # the template definition is inline: skip it
        data_size = struct.unpack_from("<I", chunk, pos + 20)[0]
        pos += 24 + data_size
    count = struct.unpack_from("<I", chunk, pos)[0]
    pos += 4
    values = pos + 4 * count
    if values > end:
        return None
    for i in range(count):
        vsize, vtype = struct.unpack_from("<HB", chunk, pos + 4 * i)
        if vtype == 0x0A and vsize == 8 and chunk[values:values + 8] == old:
            return values
        values += vsize
    return None


def renumber(chunk, next_id):
    offsets = list(records_in(chunk))
    if not offsets:
        return None, next_id
    first = next_id
    for off, size in offsets:
        old = bytes(chunk[off + 8:off + 16])
        struct.pack_into("<Q", chunk, off + 8, next_id)
        pos = record_id_value_offset(chunk, off, size, old)
        if pos is not None:
            struct.pack_into("<Q", chunk, pos, next_id)
        next_id += 1
    last = next_id - 1
    struct.pack_into("<QQQQ", chunk, 8, first, last, first, last)
    free = struct.unpack_from("<I", chunk, 48)[0]
    struct.pack_into("<I", chunk, 52, zlib.crc32(chunk[512:free]) & 0xFFFFFFFF)
    struct.pack_into("<I", chunk, 124, zlib.crc32(bytes(chunk[:120]) + bytes(chunk[128:512])) & 0xFFFFFFFF)
    return chunk, next_id


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=200_000)
    args = ap.parse_args()
    data = open(args.source, "rb").read()
    if data[:8] != b"ElfFile\x00":
        sys.exit(f"{args.source}: not an EVTX file")
    base = list(chunks_of(data))
    if not base:
        sys.exit(f"{args.source}: no chunks")
    next_id = 1
    n_chunks = 0
    with open(args.out, "wb") as out:
        out.write(b"\x00" * HEADER)
        while next_id <= args.records and n_chunks < 0xFFFF:
            for c in base:
                chunk, next_id = renumber(bytearray(c), next_id)
                if chunk is None:
                    continue
                out.write(chunk)
                n_chunks += 1
                if next_id > args.records or n_chunks == 0xFFFF:
                    break
        header = bytearray(data[:HEADER])
        struct.pack_into("<QQQ", header, 8, 0, n_chunks - 1, next_id)
        struct.pack_into("<H", header, 42, n_chunks)
        # Clear the "dirty" and "full" flags: this file was closed cleanly.
        struct.pack_into("<I", header, 120, 0)
        struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])) & 0xFFFFFFFF)
        out.seek(0)
        out.write(header)
    print(f"{args.out}: {next_id - 1} records in {n_chunks} chunks")


if __name__ == "__main__":
    main()
