"""Real ``dstc sim`` processes: signals and concurrent runs (issue 12, items 3 and 4).

``kill -TERM`` and ``Ctrl-C`` (SIGINT) of a ``dstc sim`` that is simulating stop the simulator
too (no orphan ``vvp`` or Verilator model left) and remove its temporary folder, with one line
and status 143 or 130; two runs started together in a new folder both succeed; a folder left
half-built is detected and rebuilt.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.cocotb


def _processes_mentioning(text):
    """PIDs of the processes whose command line contains ``text``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    arguments = cmdline.read().decode(errors="replace")
            except OSError:
                continue
            if text in arguments and int(entry.name) != os.getpid():
                found.append(int(entry.name))
    return found


def _dstc(args, tmp_path, **popen):
    """Start ``dstc sim`` with ``args`` in a fresh process whose temporary files go to
    ``tmp_path/tmp``."""
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(scratch))
    return subprocess.Popen([sys.executable, "-m", "dstc.gen.cli", "sim", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _simulator_of(build_dir, simulator):
    """The command-line fragment that names the running simulator of ``build_dir``."""
    return str(build_dir / ("dstc_core" if simulator == "verilator" else "sim.vvp"))


@pytest.mark.parametrize("simulator, signum, status, line", [
    ("icarus", signal.SIGTERM, 143, "dstc: terminated"),
    ("icarus", signal.SIGINT, 130, "dstc: interrupted"),
    ("verilator", signal.SIGTERM, 143, "dstc: terminated"),
])
def test_a_signal_stops_the_simulator_and_cleans_up(tmp_path, simulator, signum, status, line):
    out = tmp_path / "out"
    size = "64" if simulator == "icarus" else "128"
    process = _dstc(["--preset", "small", "--simulator", simulator, "--m", size, "--n", size,
                     "--k", "512", "--seed", "3", "--force", "-o", str(out)], tmp_path)
    build = out / "small" / (simulator + ("-O2" if simulator == "verilator" else ""))
    running = _simulator_of(build, simulator)
    deadline = time.monotonic() + 300
    while not _processes_mentioning(running):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the simulator never started"
        time.sleep(0.2)
    time.sleep(1.0)                                   # well into the simulation
    assert process.poll() is None
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert stderr.rstrip("\n").splitlines()[-1] == line and "Traceback" not in stderr
    time.sleep(0.5)
    assert _processes_mentioning(running) == []       # no orphan simulator
    assert _processes_mentioning(str(out)) == []
    assert list((tmp_path / "tmp").iterdir()) == []   # the run's temporary folder is gone


def _sim(out, tmp_path, *extra):
    return _dstc(["--preset", "small", "--m", "16", "--n", "16", "--k", "16", "--seed", "6",
                  "-o", str(out), *extra], tmp_path)


def _finish(process):
    stdout, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, stdout + stderr
    assert "values match the golden model" in stdout
    return stdout


def test_runs_started_together_in_a_new_folder_both_succeed_and_half_builds_are_redone(
        tmp_path):
    out = tmp_path / "out"
    first, second = _sim(out, tmp_path), _sim(out, tmp_path)
    _finish(first)
    _finish(second)
    build = out / "small" / "verilator-O2"
    stamp = build / ".dstc-build-key"
    assert stamp.is_file() and (build / "dstc_core").is_file()

    # Killed in the middle of a build: no stamp, some objects and the model missing, a
    # precompiled header cut short. The next run rebuilds the folder from scratch.
    stamp.unlink()
    (build / "dstc_core").unlink()
    objects = sorted(build.glob("*.o"))
    for path in objects[::2]:
        path.unlink()
    for path in build.glob("*.gch"):
        path.write_bytes(path.read_bytes()[:100])
    _finish(_sim(out, tmp_path))
    assert stamp.is_file() and (build / "dstc_core").is_file()

    # Files deleted by hand under a valid stamp: the missing model is noticed too.
    (build / "dstc_core").unlink()
    _finish(_sim(out, tmp_path))
    assert (build / "dstc_core").is_file()
    assert list(Path(tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_waves_and_log_are_kept_beside_the_build(tmp_path, simulator):
    """A run with waves simulates in its build folder, where the waveform stays; the log of
    every run is copied beside the build folder (``<build folder>.log``)."""
    from dstc.gen.gemm_sim import GemmRequest, run_gemm
    from dstc.sim.config import preset

    request = GemmRequest(preset("small"), "small", 20, 12, 9, 0.4, 0.7, simulator=simulator,
                          seed=4, waves=True, out_dir=tmp_path)
    result = run_gemm(request)
    assert result.ok and result.values_match
    assert Path(result.waves).parent.parent == tmp_path / "small"
    assert Path(result.waves).stat().st_size > 1000
    plain = run_gemm(GemmRequest(preset("small"), "small", 20, 12, 9, 0.4, 0.7,
                                 simulator=simulator, seed=4, out_dir=tmp_path))
    assert plain.ok and plain.cycles == result.cycles and plain.waves is None
    logs = sorted(path.name for path in (tmp_path / "small").glob("*.log"))
    assert len(logs) == 2 and all((tmp_path / "small" / name).stat().st_size > 0
                                  for name in logs)
