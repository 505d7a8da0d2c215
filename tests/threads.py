"""Running one piece of work on several threads at the same moment (races, two workers)."""

import threading

from django.db import connection


def at_once(work, times: int = 2) -> list:
    """Run `work()` on `times` threads released together; their results, in finishing order.
    Each thread closes its own database connection."""
    results: list = []
    start = threading.Barrier(times)

    def run():
        try:
            start.wait()
            results.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
