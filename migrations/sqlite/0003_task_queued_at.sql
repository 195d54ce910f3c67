-- When a runnable task was last put on the queue. The sweeper queues it again when no worker
-- has claimed it for a while (a message can be lost, e.g. to a poller that died mid-receive).
ALTER TABLE tasks ADD COLUMN queued_at TEXT;
