from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage

from knowledge import jobs
from knowledge.services import ImportError_, import_intents, import_kb


@shared_task(acks_late=True)
def import_file_task(job_id: str, user_id: int | None = None) -> None:
    """Run an admin upload's import, reporting progress; all or nothing."""
    state = jobs.import_state(job_id)
    if state is None or state.get("status") not in ("queued", "running"):
        return  # unknown, or already finished by an earlier delivery of this task
    jobs.set_state(job_id, status="running")
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None

    def report(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            jobs.set_state(job_id, done=done, total=total)

    try:
        with default_storage.open(state["path"], "rb") as handle:
            content = handle.read()
        if state["kind"] == "kb":
            result = import_kb(
                content.splitlines(),
                user=user,
                progress=report,
            )
        else:
            result = import_intents(content)
    except ImportError_ as error:
        jobs.set_state(
            job_id, status="failed", errors=[f"line {n}: {m}" for n, m in error.errors[:50]]
        )
    else:
        jobs.set_state(
            job_id,
            status="done",
            done=len(result.names),
            total=len(result.names),
            result=f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged",
        )
    finally:
        default_storage.delete(state["path"])
