"""Committing the batches of a long scheduled job (shared by the add-on's crons)."""

import threading


def commit_cron_batch(env, done, remaining):
    """End one batch of a cron job: write it and let its records go; when run by the cron
    itself (not by hand, not in a test), also report the progress and commit, so a crash
    or a time-out loses at most the batch at hand and the next run goes on from there."""
    env.flush_all()
    if env.context.get("cron_id") and not getattr(threading.current_thread(), "testing", False):
        env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        env.cr.commit()
    env.invalidate_all()
