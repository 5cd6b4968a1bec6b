#!/usr/bin/env python3
"""Writes the synthetic seeds of tests/fuzz/corpus/ (run from anywhere):
xenstore conversations for xs_wire and xs_drop, QEMU monitor sessions for
qmp, small bzImages for bzimage; cfg, xlconf and json take the golden
tests' files.  The seeds are committed; rerun this after changing it."""
import gzip
import lzma
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, '..', 'golden')
CORPUS = os.path.join(HERE, 'corpus')

# xs_wire.h message types
(CONTROL, DIRECTORY, READ, GET_PERMS, WATCH, UNWATCH, TXN_START, TXN_END,
 INTRODUCE, RELEASE, GET_DOMAIN_PATH, WRITE, MKDIR, RM, SET_PERMS,
 WATCH_EVENT, ERROR, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET, RESTRICT,
 RESET_WATCHES, DIRECTORY_PART) = range(23)


def msg(mtype, payload, req=1, tx=0):
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack('<IIII', mtype, req, tx, len(payload)) + payload


def feed(conn, data):
    """xs_common.h: op (connection, kind 0: feed), LEN, bytes."""
    return bytes([conn]) + struct.pack('<H', len(data)) + data


FLUSH = bytes([7 << 2])


def gone(conn):
    return bytes([(6 << 2) | conn])


def xs_seeds():
    s = {}
    s['basic'] = feed(0, msg(WRITE, '/a\0hello') + msg(READ, '/a\0', 2) +
                      msg(DIRECTORY, '/\0', 3) + msg(GET_PERMS, '/a\0', 4) +
                      msg(MKDIR, '/a/b\0', 5) + msg(RM, '/a\0', 6))
    s['watch'] = (feed(0, msg(MKDIR, '/local/domain/1\0') +
                       msg(SET_PERMS, '/local/domain/1\0b1\0', 2)) +
                  feed(1, msg(WATCH, '/local/domain/1\0tok\0') +
                       msg(WATCH, 'data\0rel\0', 2) +
                       msg(WRITE, 'data/x\0v', 3)) +
                  feed(0, msg(WRITE, '/local/domain/1/data/y\0w', 3) +
                       msg(RM, '/local/domain/1/data\0', 4)) +
                  feed(1, msg(UNWATCH, 'data\0rel\0', 4) +
                       msg(RESET_WATCHES, '', 5)))
    s['txn'] = (feed(0, msg(TXN_START, '\0') +
                     msg(WRITE, '/t\0in-txn', 2, tx=1) +
                     msg(READ, '/t\0', 3, tx=1) +
                     msg(DIRECTORY_PART, '/\x000\0', 4, tx=1)) +
                feed(3, msg(WRITE, '/t\0outside') + msg(TXN_START, '\0', 2) +
                     msg(RM, '/t\0', 3, tx=1) + msg(TXN_END, 'T\0', 4, tx=1)) +
                feed(0, msg(TXN_END, 'T\0', 5, tx=1) +
                     msg(TXN_START, '\0', 6) +
                     msg(MKDIR, '/u/v/w\0', 7, tx=2) +
                     msg(TXN_END, 'F\0', 8, tx=2)))
    s['control'] = feed(0, msg(CONTROL, 'check\0') +
                        msg(CONTROL, 'memreport\0', 2) +
                        msg(CONTROL, 'quota\0', 3) +
                        msg(CONTROL, 'quota\0set\0nodes\x002\0', 4) +
                        msg(CONTROL, 'help\0', 5) +
                        msg(CONTROL, 'print\0hi\0', 6)) + \
        feed(3, msg(CONTROL, 'restrict\x003\0') + msg(WRITE, '/x\0y', 2) +
             msg(WRITE, 'data\0z', 3) + msg(READ, 'data\0', 4))
    s['unpriv'] = feed(1, msg(WRITE, '/evil\0x') +
                       msg(GET_DOMAIN_PATH, '1\0', 2) +
                       msg(INTRODUCE, '2\x00123\x004\0', 3) +
                       msg(IS_DOMAIN_INTRODUCED, '1\0', 4) +
                       msg(SET_TARGET, '2\x001\0', 5) +
                       msg(WATCH, '@introduceDomain\0i\0', 6) +
                       msg(WATCH, '@releaseDomain\0r\0', 7)) + \
        feed(0, msg(SET_TARGET, '7\x001\0') + msg(RELEASE, '1\0', 2) +
             msg(RESUME, '1\0', 3) +
             msg(SET_PERMS, '@introduceDomain\0r1\0', 4))
    whole = msg(WRITE, '/split\0' + 'v' * 300) + msg(READ, '/split\0', 2)
    s['split'] = (feed(0, whole[:5]) + feed(0, whole[5:17]) +
                  feed(0, whole[17:200]) + feed(0, whole[200:]) +
                  feed(2, struct.pack('<IIII', READ, 1, 0, 5000)))
    flood = msg(WATCH, '/\0all\0')
    for i in range(40):
        flood += msg(WRITE, '/f%d\0%s' % (i, 'x' * 200), i + 2)
    s['backlog'] = (feed(0, msg(SET_PERMS, '/\0n0\0r7\0')) +
                    feed(2, msg(WATCH, '/\0w\0')) + feed(3, flood) +
                    gone(3) + FLUSH + feed(3, msg(READ, '/f1\0')) + FLUSH +
                    feed(2, msg(READ, '/f2\0') * 3))
    return s


def xs_crashes():
    """Reproducers of xenstored bugs not fixed yet (crashes/, not run by
    CI): move one into corpus/ once its bug is fixed."""
    # A client that never reads, with four watches on / whose tokens are
    # 4000 bytes: each write elsewhere queues 16 KB of events for it, and
    # the write that passes 16 MiB kills it (conn_kill frees its watches)
    # in the middle of fire_list's walk over them.
    watches = b''.join(msg(WATCH, b'/\0' + bytes([65 + i]) * 4000 + b'\0',
                           i + 1) for i in range(4))
    writes = b''.join(msg(WRITE, '/k\0v', i + 10) for i in range(700))
    return {'watch-fire-kill-uaf': feed(3, watches) + feed(0, writes) +
            feed(0, writes)}


def qmp_seeds():
    greet = ('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, '
             '"major": 7}, "package": "Debian 1:7.2"}, "capabilities": '
             '["oob"]}}\r\n')
    ok = '{"return": {}, "id": %d}\r\n'
    status = ('{"return": {"status": "running", "singlestep": false, '
              '"running": true}, "id": 2}\r\n')
    balloon = '{"return": {"actual": 1073741824}, "id": 3}\r\n'
    cpus = ('{"return": [{"thread-id": 4242, "props": {"core-id": 0, '
            '"thread-id": 0, "socket-id": 0}, "qom-path": '
            '"/machine/unattached/device[0]", "cpu-index": 0, "target": '
            '"x86_64"}, {"thread-id": 4243, "props": {"core-id": 0, '
            '"thread-id": 0, "socket-id": 1}, "qom-path": '
            '"/machine/peripheral/vcpu1", "cpu-index": 1, "target": '
            '"x86_64"}], "id": 4}\r\n')
    slots = ('{"return": [{"props": {"core-id": 0, "thread-id": 0, '
             '"socket-id": 2}, "vcpus-count": 1, "type": '
             '"qemu64-x86_64-cpu"}, {"props": {"core-id": 0, "thread-id": '
             '0, "socket-id": 1}, "vcpus-count": 1, "qom-path": '
             '"/machine/peripheral/vcpu1", "type": "qemu64-x86_64-cpu"}], '
             '"id": 5}\r\n')
    event = ('{"timestamp": {"seconds": 1733540000, "microseconds": 123}, '
             '"event": "%s", "data": {"guest": true, "reason": '
             '"guest-shutdown"}}\r\n')
    s = {}
    s['session'] = greet + ok % 1 + status + balloon + cpus + slots + \
        event % 'SHUTDOWN'
    s['events-between'] = (greet + event % 'RESUME' + ok % 1 +
                           event % 'BALLOON_CHANGE' + status +
                           '{"return": {}, "id": 99}\n' + balloon +
                           event % 'STOP' + cpus + slots)
    s['errors'] = (greet + ok % 1 +
                   '{"error": {"class": "GenericError", "desc": "no"}, '
                   '"id": 2}\n{"error": {"desc": 5}, "id": 3}\n'
                   '{"return": 5, "id": 4}\n{"id": 5}\n')
    s['wrong-types'] = (greet + ok % 1 +
                        '{"return": {"status": 7}, "id": 2}\n'
                        '{"return": {"actual": "lots"}, "id": 3}\n'
                        '{"return": [{"cpu-index": 4096, "thread-id": 1},'
                        ' {"cpu-index": -1, "thread-id": 2}, '
                        '{"cpu-index": "0"}], "id": 4}\n'
                        '{"return": {}, "id": 5}\n')
    s['truncated'] = greet + ok % 1 + status[:40]
    s['not-json'] = greet + ok % 1 + 'this is not JSON\n' + status
    return {k: v.encode() for k, v in s.items()}


def fake_elf(note_type=18):
    out = bytearray(64 + 56 + 32)
    out[0:4] = b'\x7fELF'
    out[4], out[5] = 2, 1
    out[0x20], out[0x36], out[0x38] = 64, 56, 1
    ph = 64
    out[ph] = 4
    out[ph + 8] = 120
    out[ph + 32] = 32
    n = 120
    out[n], out[n + 4], out[n + 8] = 4, 8, note_type
    out[n + 12:n + 16] = b'Xen\0'
    return bytes(out)


def bzimage(payload, size_field, payload_offset=0, setup_sects=1):
    img = bytearray((setup_sects + 1) * 512 + payload_offset)
    img[0x1f1] = setup_sects
    img[0x202:0x206] = b'HdrS'
    img[0x206:0x208] = struct.pack('<H', 0x020f)
    body = payload + struct.pack('<I', size_field)
    img[0x248:0x24c] = struct.pack('<I', payload_offset)
    img[0x24c:0x250] = struct.pack('<I', len(body))
    return bytes(img) + body


def bzimage_seeds():
    elf = fake_elf()
    gz = gzip.compress(elf, 9, mtime=0)
    xz = lzma.compress(elf, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    s = {}
    s['gzip'] = bzimage(gz, len(elf))      # a size appended, as xz has
    # as Linux packs gzip: the stream's own ISIZE is the size field
    s['gzip-linux'] = bzimage(gz[:-4], struct.unpack('<I', gz[-4:])[0])
    s['xz'] = bzimage(xz, len(elf))
    s['xz-offset'] = bzimage(xz, len(elf), payload_offset=64)
    s['size-lies'] = bzimage(xz, len(elf) + 100)
    s['cut'] = bzimage(xz[:len(xz) // 2], len(elf))
    s['elf'] = elf
    s['zstd'] = bzimage(b'\x28\xb5\x2f\xfd\1\2\3\4', 4096)
    # An xz block header that asks for a 4 GiB dictionary (LZMA2's
    # dictionary byte 40), its CRC32 made right: liblzma allocates what
    # the stream declares unless told a limit.
    huge = bytearray(xz)
    hsize = (huge[12] + 1) * 4
    assert huge[14] == 0x21          # LZMA2
    huge[16] = 40
    huge[12 + hsize - 4:12 + hsize] = struct.pack(
        '<I', zlib.crc32(bytes(huge[12:12 + hsize - 4])))
    s['xz-huge-dict'] = bzimage(bytes(huge), len(elf))
    return s


def write(name, seeds, where=CORPUS):
    d = os.path.join(where, name)
    if where == CORPUS:
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, exist_ok=True)
    for k, v in seeds.items():
        with open(os.path.join(d, k), 'wb') as f:
            f.write(v)


def golden(name, sub, exts):
    d = os.path.join(CORPUS, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for s in sub:
        src = os.path.join(GOLDEN, s)
        for f in sorted(os.listdir(src)):
            if f.endswith(exts) and os.path.getsize(os.path.join(src, f)) <= 65536:
                shutil.copy(os.path.join(src, f), os.path.join(d, s + '-' + f))


xs = xs_seeds()
write('xs_wire', xs)
write('xs_drop', xs)
write('xs_drop', xs_crashes(), os.path.join(HERE, 'crashes'))
write('qmp', qmp_seeds())
write('bzimage', bzimage_seeds())
golden('cfg', ['good', 'bad'], ('.cfg',))
golden('xlconf', ['xlconf'], ('.conf',))
golden('json', ['good'], ('.json',))
