"""The do-not-call list: numbers read from a file into a compact sorted array.

Each number costs 8 bytes (its E.164 digits as one integer) instead of the ~100 of a
string in a set, so a list of millions loads into tens of megabytes.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from pathlib import Path

from streamer.errors import InputError
from streamer.normalize import normalize_phone


class DoNotCall:
    """A set of E.164 numbers; ``"+14155552671" in dnc``."""

    def __init__(self, numbers: array[int], unreadable: int = 0) -> None:
        self._numbers = numbers
        self.unreadable = unreadable

    @classmethod
    def load(cls, path: Path, default_region: str) -> DoNotCall:
        """One number per line in any format, read as phones in ``default_region`` are.

        Blank lines and ``#`` comments are skipped; lines that are not valid numbers are
        counted in ``unreadable`` rather than stopping the run.
        """
        numbers = array("q")
        unreadable = 0
        try:
            with open(path, encoding="utf-8-sig", errors="replace") as file:
                for line in file:
                    text = line.strip()
                    if not text or text.startswith("#"):
                        continue
                    e164 = normalize_phone(text.split(",")[0], default_region)
                    if e164 is None:
                        unreadable += 1
                    else:
                        numbers.append(int(e164[1:]))
        except OSError as error:
            raise InputError(f"--dnc {path}: {error.strerror}") from None
        ordered = array("q", sorted(numbers))  # repeats do no harm to bisect
        return cls(ordered, unreadable)

    def __len__(self) -> int:
        return len(self._numbers)

    def __contains__(self, e164: object) -> bool:
        if not isinstance(e164, str) or not e164.startswith("+"):
            return False
        key = int(e164[1:])
        index = bisect_left(self._numbers, key)
        return index < len(self._numbers) and self._numbers[index] == key
