//! The task queue. A message is a claim check (task id plus correlation id); the task itself, its
//! state and its reservations live in the database, so delivering a message twice is harmless.
//!
//! Backends implement [`Queue`]. The default is [`InProcessQueue`]; an SQS backend implements the
//! same trait for multi-process deployments.

mod sqs;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc};

pub use sqs::{SqsQueue, sqs_client};

/// What travels on the queue: only enough to find the task row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub task_id: String,
    pub correlation_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is closed")]
    Closed,
    #[error("queue backend error: {0}")]
    Backend(String),
}

/// A received message. `ack` removes it from the queue; dropping it without `ack` lets a backend
/// with visibility timeouts deliver it again.
pub struct Delivery {
    /// The message as sent: a [`TaskMessage`] on a task queue, an object storage notification
    /// on the scan queue.
    pub body: String,
    pub receipt: String,
}

impl Delivery {
    /// The task message in the body, if it is one.
    pub fn task(&self) -> Option<TaskMessage> {
        serde_json::from_str(&self.body).ok()
    }
}

#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, message: TaskMessage) -> Result<(), QueueError>;
    /// Waits for the next message; `None` once the queue is closed and drained.
    async fn receive(&self) -> Result<Option<Delivery>, QueueError>;
    async fn ack(&self, receipt: &str) -> Result<(), QueueError>;
}

/// The queues of a deployment: a function that runs tasks may have its own queue (as each task
/// function has on Lambda); every other function's tasks go to the shared queue.
#[derive(Clone)]
pub struct Queues {
    shared: Arc<dyn Queue>,
    own: HashMap<String, Arc<dyn Queue>>,
}

impl Queues {
    pub fn new(shared: Arc<dyn Queue>) -> Self {
        Self {
            shared,
            own: HashMap::new(),
        }
    }

    /// Gives `function` a queue of its own.
    pub fn with(mut self, function: &str, queue: Arc<dyn Queue>) -> Self {
        self.own.insert(function.to_string(), queue);
        self
    }

    /// `function`'s own queue, if it has one.
    pub fn own(&self, function: &str) -> Option<&Arc<dyn Queue>> {
        self.own.get(function)
    }

    /// The queue `function` reads (the shared one when it has none, or for `None`).
    pub fn of(&self, function: Option<&str>) -> &Arc<dyn Queue> {
        function
            .and_then(|f| self.own.get(f))
            .unwrap_or(&self.shared)
    }
}

/// The embedded default: an unbounded channel inside one process. Nothing is lost across restarts
/// because the runner re-sends every runnable task it finds in the database at start-up.
pub struct InProcessQueue {
    tx: mpsc::UnboundedSender<TaskMessage>,
    rx: Mutex<mpsc::UnboundedReceiver<TaskMessage>>,
}

impl InProcessQueue {
    pub fn new() -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            tx,
            rx: Mutex::new(rx),
        })
    }
}

#[async_trait]
impl Queue for InProcessQueue {
    async fn send(&self, message: TaskMessage) -> Result<(), QueueError> {
        self.tx.send(message).map_err(|_| QueueError::Closed)
    }

    async fn receive(&self) -> Result<Option<Delivery>, QueueError> {
        let message = self.rx.lock().await.recv().await;
        Ok(message.map(|message| Delivery {
            receipt: message.task_id.clone(),
            body: serde_json::to_string(&message).unwrap_or_default(),
        }))
    }

    async fn ack(&self, _receipt: &str) -> Result<(), QueueError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_function_with_its_own_queue_gets_its_messages() {
        let shared = InProcessQueue::new();
        let sync = InProcessQueue::new();
        let queues = Queues::new(shared.clone()).with("task-sync", sync.clone());
        let msg = |id: &str| TaskMessage {
            task_id: id.into(),
            correlation_id: String::new(),
        };
        queues.of(Some("task-sync")).send(msg("a")).await.unwrap();
        queues.of(Some("task-modify")).send(msg("b")).await.unwrap();
        queues.of(None).send(msg("c")).await.unwrap();
        assert!(queues.own("task-sync").is_some() && queues.own("task-modify").is_none());
        let id = |d: Option<Delivery>| d.unwrap().task().unwrap().task_id;
        assert_eq!(id(sync.receive().await.unwrap()), "a");
        assert_eq!(id(shared.receive().await.unwrap()), "b");
        assert_eq!(id(shared.receive().await.unwrap()), "c");
    }

    #[tokio::test]
    async fn messages_arrive_in_order() {
        let q = InProcessQueue::new();
        for i in 0..3 {
            q.send(TaskMessage {
                task_id: format!("t{i}"),
                correlation_id: "c".into(),
            })
            .await
            .unwrap();
        }
        for i in 0..3 {
            let d = q.receive().await.unwrap().unwrap();
            assert_eq!(d.task().unwrap().task_id, format!("t{i}"));
            q.ack(&d.receipt).await.unwrap();
        }
    }
}
