"""The command line's progress display: one line, redrawn in place on a terminal (rich's
``Live``), fitted to the terminal's width so that it never wraps.

The line tells slow from stuck: the phase the run is in (with its detail: the jobs it
waits for, the read-back page), how long it has been in it, and the rate over the last
few seconds rather than since the start, so a stall reads ``0 rows/s`` within seconds.
Reading shows the share of the file and an ETA by bytes, when the size is known.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Iterator

import anyio
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from streamer.counters import Phase, Progress

#: Seconds the rate is measured over: long enough to smooth batch-sized steps, short
#: enough that a stall shows as 0 within a few redraws.
RATE_WINDOW_S = 3.0
_REDRAW_S = 0.25
#: How often a change of phase is looked for: a phase shorter than a redraw (a quick wait
#: for the last jobs) is still drawn, so the operator sees every phase the run went through.
_PHASE_POLL_S = 0.05
_BAR_MIN, _BAR_MAX = 10, 30
_SEP = " · "


class RateMeter:
    """A counter's rate per second over the last ``window_s`` seconds, from samples fed
    with explicit times (so it can be driven without a clock)."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, value: int) -> None:
        samples = self._samples
        samples.append((now, value))
        # The oldest sample kept is the last one at or before the window's start.
        while len(samples) > 1 and samples[1][0] <= now - self._window_s:
            samples.popleft()

    def rate(self, now: float) -> float:
        """Per second from the last sample at or before the window's start (or the first
        sample, early on) to the newest; 0 when nothing moved in the window."""
        samples = self._samples
        if not samples:
            return 0.0
        anchor = samples[0]
        for sample in samples:
            if sample[0] > now - self._window_s:
                break
            anchor = sample
        span = now - anchor[0]
        return max(0.0, (samples[-1][1] - anchor[1]) / span) if span > 0 else 0.0


def _clock(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def resume_notice(progress: Progress) -> str:
    return f"streamer: resuming: {progress.settled_before:,} rows already settled"


class ProgressView:
    """The progress line of one run; :meth:`sample` feeds it the counters' current values,
    and rich draws it at whatever width the terminal has."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._rows, self._sent, self._bytes = RateMeter(), RateMeter(), RateMeter()
        self._now = 0.0

    def sample(self, now: float) -> None:
        progress = self.progress
        self._now = now
        self._rows.add(now, progress.rows_read)
        self._sent.add(now, progress.sent)
        self._bytes.add(now, progress.bytes_read)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # One cell short of the width: a line filling the last column makes some
        # terminals wrap the cursor, and the next redraw would then scroll.
        width = max(1, options.max_width - 1)
        text, bar = self.fit(width)
        if bar:
            left, right = text.divide([bar[0]])
            yield Text.assemble(left, end="")
            yield ProgressBar(total=float(self.progress.bytes_total),
                              completed=float(self.progress.bytes_read), width=bar[1])
            yield Text.assemble(right, end="")
        else:
            yield text

    def fit(self, width: int) -> tuple[Text, tuple[int, int] | None]:
        """The fullest line that fits ``width`` cells, and where a bar goes in it (its
        offset and width), if it has room. Less telling parts go first: the bar, long
        labels, the rows sent, the time in the phase, the ETA, the share, the rate, and
        last the phase; the counts stay."""
        line = ""
        for words, *rest in self._layouts():
            line = _SEP.join([words, *(part for part in rest if part)])
            if len(line) <= width:
                return self._with_bar(words, line, width)
        last = Text(line, end="")
        last.truncate(width, overflow="ellipsis")
        return last, None

    def _with_bar(self, words: str, line: str, width: int
                  ) -> tuple[Text, tuple[int, int] | None]:
        """``reading ━━━━━━ 42% · ...``: a bar after the phase while reading a file of
        known size, as wide as the room left allows."""
        progress = self.progress
        room = width - len(line) + len(_SEP) - 2
        if (progress.phase is not Phase.READING or not progress.bytes_total
                or room < _BAR_MIN or line == words):
            return Text(line, end=""), None
        return (Text(f"{words}  {line[len(words) + len(_SEP):]}", end=""),
                (len(words) + 1, min(_BAR_MAX, room)))

    def _layouts(self) -> Iterator[tuple[str, ...]]:
        progress, now = self.progress, self._now
        phase = progress.phase
        marks = progress.phases
        in_phase = _clock(now - marks[-1].monotonic) if marks else ""
        share = rate = eta = ""
        if phase is Phase.READING:
            rate = f"{self._rows.rate(now):,.0f} rows/s"
            if progress.bytes_total:
                share = f"{min(progress.bytes_read / progress.bytes_total, 1.0):.0%}"
                speed = self._bytes.rate(now)
                left = max(0, progress.bytes_total - progress.bytes_read)
                eta = f"ETA {_clock(left / speed)}" if speed > 0 else "ETA -:--"
        elif phase in (Phase.UPLOADING, Phase.RESENDING):
            rate = f"{self._sent.rate(now):,.0f} rows/s"
        counts = (progress.uploaded, progress.duplicates, progress.rejected, progress.failed)
        long = " · ".join(f"{label} {count:,}" for label, count in
                          zip(("uploaded", "duplicates", "rejected", "failed"), counts,
                              strict=True))
        short = " ".join(f"{label} {count:,}" for label, count in
                         zip(("up", "dup", "rej", "fail"), counts, strict=True))
        sent = f"sent {progress.sent:,}" if progress.sent else ""
        words = progress.describe_phase()
        timed = f"{words} ({in_phase})" if in_phase else words
        yield timed, share, rate, eta, sent, long
        yield timed, share, rate, eta, sent, short
        yield timed, share, rate, eta, short
        yield words, share, rate, eta, short
        yield words, share, rate, short
        yield words, rate, short
        yield words, short
        yield (short,)


async def show_progress(progress: Progress, console: Console) -> None:
    """Redraw the progress line a few times a second until cancelled; the last drawing
    stays, and what follows starts on a line of its own."""
    view = ProgressView(progress)
    with Live(view, console=console, auto_refresh=False, transient=False) as live:
        try:
            drawn: tuple[object, str] | None = None
            next_draw = 0.0
            while True:
                now = time.monotonic()
                shown = (progress.phase, progress.describe_phase())
                if progress.phase is not None and (shown != drawn or now >= next_draw):
                    view.sample(now)
                    live.refresh()
                    drawn, next_draw = shown, now + _REDRAW_S
                await anyio.sleep(_PHASE_POLL_S)
        finally:
            view.sample(time.monotonic())
            live.refresh()


class RunWatch:
    """What the command line tells while a run goes: a resume, once its journal is open
    (always, on stderr), and the progress line (on a terminal only)."""

    def __init__(self, progress: Progress, console: Console | None) -> None:
        self.progress = progress
        self._console = console
        self._announced = False

    async def run(self) -> None:
        """Until cancelled: announce a resume once the run begins its first phase, then
        show the progress line if there is a terminal to show it on."""
        # The run signals nothing when it begins: its counters are polled, as the
        # progress line polls them.
        while self.progress.phase is None:  # noqa: ASYNC110
            await anyio.sleep(0.05)
        self.announce()
        if self._console is not None:
            await show_progress(self.progress, self._console)

    def announce(self) -> None:
        """Say the run resumes, once (also called when the run ended before :meth:`run`
        saw it begin)."""
        if self.progress.resumed and not self._announced:
            self._announced = True
            print(resume_notice(self.progress), file=sys.stderr)
