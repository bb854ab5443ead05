"""Mail delivery agent for the client tests: stores standard input, byte for byte, as the next
numbered file (001, 002, ...) in the directory given as the only argument."""

import os
import pathlib
import sys

directory = pathlib.Path(sys.argv[1])
data = sys.stdin.buffer.read()
for number in range(1, 100000):
    try:
        fd = os.open(directory / f"{number:03d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        continue
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    sys.exit(0)
sys.exit("no free file name")
