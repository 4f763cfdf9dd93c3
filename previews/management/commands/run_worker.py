"""Run the Celery worker and start it again whenever it exits on its own.

kombu 5.7's Redis transport can end the worker's main process when the broker restarts
while a task is unacknowledged (acks late): closing the channel tries to restore the
unacked message through a connection that is already gone. A worker that is started
again reconnects and goes on consuming. Production should supervise the same way
(systemd `Restart=always` or this command).

The worker is told to stop when this supervisor dies, however it dies (on Linux, through
PR_SET_PDEATHSIG): a supervisor killed with SIGKILL must not leave an unsupervised worker
taking runs behind it.
"""

import ctypes
import ctypes.util
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _stop_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGTERM when the supervisor dies."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "Run `celery -A procurement worker` with the given options, restarting it if it exits."

    def add_arguments(self, parser):
        parser.add_argument("celery_args", nargs="*", help="options passed to celery worker")
        parser.add_argument("--restart-delay", type=float, default=1.0)

    def handle(self, *args, celery_args, restart_delay, **options):
        command = [sys.executable, "-m", "celery", "-A", "procurement", "worker", *celery_args]
        stopping = False
        child: subprocess.Popen | None = None

        def stop(signum, _frame):
            nonlocal stopping
            stopping = True
            if child is not None and child.poll() is None:
                child.send_signal(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            child = subprocess.Popen(command, preexec_fn=_stop_with_parent)
            status = child.wait()
            if stopping:
                return
            self.stderr.write(f"worker exited with status {status}; starting it again")
            time.sleep(restart_delay)
