//! The SQS backend (any SQS-compatible endpoint). Messages carry only the task id and correlation
//! id; delivery is at least once, which the task claim makes harmless. Redrive to a dead-letter
//! queue is configured on the queue itself.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;

use crate::{Delivery, Queue, QueueError, TaskMessage};

pub struct SqsQueue {
    client: Client,
    url: String,
}

/// The endpoint of a queue URL that is not on AWS (an emulator such as moto): its origin.
fn custom_endpoint(queue_url: &str) -> Option<String> {
    let rest = queue_url
        .strip_prefix("http://")
        .or_else(|| queue_url.strip_prefix("https://"))?;
    let host = rest.split('/').next()?;
    if host.ends_with("amazonaws.com") {
        return None;
    }
    let scheme = if queue_url.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{host}"))
}

/// An SQS client for queues at `endpoint`, or at the first queue URL's own host when that is
/// not AWS (an emulator). Building it makes no request.
pub async fn sqs_client(first_queue_url: &str, endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(ep) = endpoint
        .map(str::to_string)
        .or_else(|| custom_endpoint(first_queue_url))
    {
        loader = loader.endpoint_url(ep);
    }
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    Client::new(&loader.load().await)
}

impl SqsQueue {
    /// A queue on `client`; no request is made until the first send or receive.
    pub fn new(client: Client, queue_url: &str) -> Self {
        Self {
            client,
            url: queue_url.to_string(),
        }
    }

    /// Checks that the queue exists, so that a wrong URL, wrong credentials or an endpoint that
    /// is down fail at start-up with the setting's name (`setting`).
    pub async fn check(&self, setting: &str) -> Result<(), QueueError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| {
                QueueError::Backend(format!(
                    "{setting}={} is not usable: {}",
                    self.url,
                    DisplayErrorContext(e)
                ))
            })?;
        Ok(())
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, message: TaskMessage) -> Result<(), QueueError> {
        let body =
            serde_json::to_string(&message).map_err(|e| QueueError::Backend(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                QueueError::Backend(format!("SQS send failed: {}", DisplayErrorContext(e)))
            })?;
        Ok(())
    }

    async fn receive(&self) -> Result<Option<Delivery>, QueueError> {
        loop {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(1)
                .wait_time_seconds(20)
                .send()
                .await
                .map_err(|e| {
                    QueueError::Backend(format!("SQS receive failed: {}", DisplayErrorContext(e)))
                })?;
            let Some(m) = out.messages.unwrap_or_default().into_iter().next() else {
                continue;
            };
            return Ok(Some(Delivery {
                body: m.body.unwrap_or_default(),
                receipt: m.receipt_handle.unwrap_or_default(),
            }));
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| {
                QueueError::Backend(format!("SQS delete failed: {}", DisplayErrorContext(e)))
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::custom_endpoint;

    #[test]
    fn emulator_endpoints_come_from_the_queue_url() {
        assert_eq!(
            custom_endpoint("http://127.0.0.1:5001/123456789012/tasks").as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(
            custom_endpoint("https://sqs.eu-west-1.amazonaws.com/1/tasks"),
            None
        );
    }
}
