//! Telling Lambda events apart, and the small pure rules about them.

use serde::Deserialize;

/// The kind of an incoming event, read from its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An SQS batch (`Records` with `eventSource` `aws:sqs`).
    Sqs,
    /// An EventBridge scheduled event (`source` `aws.events`, or `aws.scheduler`).
    Scheduled,
    /// An HTTP request from API Gateway, a Function URL or an ALB.
    Http,
    /// Anything else: a direct invocation.
    Other,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "Records", default)]
    records: Vec<RecordProbe>,
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "detail-type", default)]
    detail_type: Option<String>,
    #[serde(rename = "httpMethod", default)]
    http_method: Option<String>,
    #[serde(rename = "requestContext", default)]
    request_context: Option<ContextProbe>,
}

/// Only whether `requestContext.http` is there: the rest is read once, by lambda_http.
#[derive(Deserialize)]
struct ContextProbe {
    #[serde(default)]
    http: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RecordProbe {
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
}

impl Event {
    pub fn of(payload: &str) -> Self {
        let Ok(p) = serde_json::from_str::<Probe>(payload) else {
            return Event::Other;
        };
        if p.records
            .first()
            .and_then(|r| r.event_source.as_deref())
            .is_some_and(|s| s == "aws:sqs")
        {
            return Event::Sqs;
        }
        if p.source
            .as_deref()
            .is_some_and(|s| s == "aws.events" || s == "aws.scheduler")
            || p.detail_type.as_deref() == Some("Scheduled Event")
        {
            return Event::Scheduled;
        }
        // REST APIs and ALBs send httpMethod; HTTP APIs and Function URLs a requestContext
        // with http.method.
        let v2 = p.request_context.is_some_and(|c| c.http.is_some());
        if p.http_method.is_some() || v2 {
            return Event::Http;
        }
        Event::Other
    }
}

/// The path without a named API Gateway stage, so that it matches the local runner's routes
/// (`/prod/pulp/api/v3/` -> `/pulp/api/v3/`). `$default` (HTTP APIs, Function URLs) has none.
pub fn strip_stage(path: &str, stage: Option<&str>) -> Option<String> {
    let stage = stage.filter(|s| !s.is_empty() && *s != "$default")?;
    let rest = path.strip_prefix('/')?.strip_prefix(stage)?;
    if rest.is_empty() {
        return Some("/".into());
    }
    rest.starts_with('/').then(|| rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes as AWS documents them (trimmed).
    const SQS: &str = r#"{"Records":[{"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":"{}","attributes":
        {"ApproximateReceiveCount":"1","SentTimestamp":"1545082649183"},"messageAttributes":{},
        "md5OfBody":"99914b932bd37a50b983c5e7c90ae93b","eventSource":"aws:sqs",
        "eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:task-sync","awsRegion":"us-east-1"}]}"#;
    const SCHEDULED: &str = r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
        "time":"2026-11-27T18:00:00Z","region":"us-east-1",
        "resources":["arn:aws:events:us-east-1:123456789012:rule/sweeper"],"detail":{}}"#;
    const HTTP_V2: &str = r#"{"version":"2.0","routeKey":"$default","rawPath":"/pulp/api/v3/",
        "rawQueryString":"","headers":{"host":"abc.lambda-url.us-east-1.on.aws"},
        "requestContext":{"accountId":"123456789012","apiId":"abc","domainName":"x",
        "http":{"method":"GET","path":"/pulp/api/v3/","protocol":"HTTP/1.1","sourceIp":"1.2.3.4",
        "userAgent":"curl"},"requestId":"id","routeKey":"$default","stage":"$default",
        "time":"27/Nov/2026:18:00:00 +0000","timeEpoch":1795802400000},"isBase64Encoded":false}"#;
    const REST_V1: &str = r#"{"resource":"/{proxy+}","path":"/pulp/api/v3/","httpMethod":"GET",
        "headers":{},"multiValueHeaders":{},"queryStringParameters":null,
        "requestContext":{"stage":"prod","httpMethod":"GET","path":"/prod/pulp/api/v3/"},
        "body":null,"isBase64Encoded":false}"#;

    #[test]
    fn events_are_told_apart_by_shape() {
        assert_eq!(Event::of(SQS), Event::Sqs);
        assert_eq!(Event::of(SCHEDULED), Event::Scheduled);
        assert_eq!(Event::of(HTTP_V2), Event::Http);
        assert_eq!(Event::of(REST_V1), Event::Http);
        assert_eq!(Event::of(r#"{"action":"migrate"}"#), Event::Other);
        assert_eq!(Event::of("[1, 2]"), Event::Other);
        // S3 notifications reach functions inside SQS bodies, never directly.
        let s3 = r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}"#;
        assert_eq!(Event::of(s3), Event::Other);
    }

    #[test]
    fn named_stages_are_removed_from_paths() {
        assert_eq!(
            strip_stage("/prod/pulp/api/v3/", Some("prod")).as_deref(),
            Some("/pulp/api/v3/")
        );
        assert_eq!(strip_stage("/prod", Some("prod")).as_deref(), Some("/"));
        assert_eq!(strip_stage("/pulp/api/v3/", Some("$default")), None);
        assert_eq!(strip_stage("/production/x", Some("prod")), None);
        assert_eq!(strip_stage("/pulp/api/v3/", None), None);
    }
}
