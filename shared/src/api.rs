//! The query API: findings, incidents, suppressions and what became of an ingested event,
//! over HTTP. Routing, parameters, bodies and status codes live here, behind the ports; the
//! Lambda entry point only translates API Gateway's request and this answer. `openapi.yaml`
//! describes the same routes, and a test holds the two together.

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::anomaly::Anomaly;
use crate::finding::Finding;
use crate::ports::{
    AnomalyStore, CaseQueries, CaseStore, IngestLedger, ReceiptStore, StoreError, SuppressionStore,
};
use crate::query::{CaseFilter, FilterError, QueryError, Status, StatusChange};
use crate::suppress::{SuppressionRule, Suppressions};

/// Every route: its path (`{…}` one segment) and methods. The ingest route is served by the
/// ingest function and listed for the API document's sake.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/ingest", &["POST"]),
    ("/findings", &["GET"]),
    ("/findings/{id}", &["GET", "PATCH"]),
    ("/incidents", &["GET"]),
    ("/incidents/{id}", &["GET"]),
    ("/suppressions", &["GET", "POST"]),
    ("/suppressions/{id}", &["DELETE"]),
    ("/events/{event_id}", &["GET"]),
];

/// A request as the entry point hands it over.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: Vec<(String, String)>,
    pub body: &'a [u8],
    /// The SigV4 caller's ARN.
    pub caller: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// The `Allow` header of a 405.
    pub allow: Option<String>,
    pub body: Value,
}

impl ApiResponse {
    fn ok(status: u16, body: Value) -> Self {
        Self {
            status,
            allow: None,
            body,
        }
    }

    /// `{"error": {"status", "message", "parameter"?}}`.
    pub fn error(status: u16, parameter: Option<&str>, message: impl Into<String>) -> Self {
        let mut error = json!({"status": status, "message": message.into()});
        if let Some(parameter) = parameter {
            error["parameter"] = json!(parameter);
        }
        Self::ok(status, json!({ "error": error }))
    }

    fn not_found(what: &str, id: &str) -> Self {
        Self::error(404, None, format!("no {what} {id}"))
    }
}

impl From<StoreError> for ApiResponse {
    /// The store is down or refused: a 503 the caller may retry, never a 500.
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store request failed");
        Self::error(503, None, format!("the store could not answer: {error}"))
    }
}

impl From<QueryError> for ApiResponse {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Filter(filter) => filter.into(),
            QueryError::Store(store) => store.into(),
        }
    }
}

impl From<FilterError> for ApiResponse {
    fn from(error: FilterError) -> Self {
        Self::error(400, Some(error.parameter), error.to_string())
    }
}

/// The stores the API reads and writes.
pub struct QueryApi<'a, C, A, S, L, R> {
    pub cases: &'a C,
    pub anomalies: &'a A,
    pub suppressions: &'a S,
    pub ledger: &'a L,
    pub receipts: &'a R,
}

/// What `PATCH /findings/{id}` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    #[serde(default)]
    note: Option<String>,
}

/// Notes longer than this are refused: a status note is a sentence, not a document.
pub const MAX_NOTE: usize = 2_000;

impl<C, A, S, L, R> QueryApi<'_, C, A, S, L, R>
where
    C: CaseStore + CaseQueries,
    A: AnomalyStore,
    S: SuppressionStore,
    L: IngestLedger,
    R: ReceiptStore,
{
    pub async fn handle(&self, request: ApiRequest<'_>) -> ApiResponse {
        let Some((route, id)) = route_of(request.path) else {
            return ApiResponse::error(404, None, format!("no route for {}", request.path));
        };
        let methods = ROUTES
            .iter()
            .find(|(path, _)| *path == route)
            .map(|(_, methods)| *methods)
            .unwrap_or_default();
        let method = request.method.to_ascii_uppercase();
        if !methods.contains(&method.as_str()) || route == "/ingest" {
            return ApiResponse {
                allow: Some(methods.join(", ")),
                ..ApiResponse::error(
                    405,
                    None,
                    format!(
                        "{method} is not allowed on {route}; use {}",
                        methods.join(" or ")
                    ),
                )
            };
        }
        let query = || request.query.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        if let Some((name, _)) = request.query.first()
            && !matches!(route, "/findings" | "/incidents")
        {
            return ApiResponse::error(
                400,
                Some(name),
                format!("{route} takes no query parameter; {name:?} is not one"),
            );
        }
        let id = percent_encoding::percent_decode_str(id.unwrap_or_default())
            .decode_utf8_lossy()
            .into_owned();
        let id = id.as_str();
        let answer = match (method.as_str(), route) {
            ("GET", "/findings") => self.findings(query()).await,
            ("GET", "/incidents") => self.incidents(query()).await,
            ("GET", "/suppressions") => self.list_suppressions().await,
            ("GET", "/findings/{id}") => self.finding(id).await,
            ("PATCH", "/findings/{id}") => self.set_status(id, request.body, request.caller).await,
            ("GET", "/incidents/{id}") => self.incident(id).await,
            ("POST", "/suppressions") => self.add_suppression(request.body).await,
            ("DELETE", "/suppressions/{id}") => self.remove_suppression(id).await,
            ("GET", "/events/{event_id}") => self.event(id).await,
            _ => Err(ApiResponse::error(404, None, "no such route")),
        };
        answer.unwrap_or_else(|error| error)
    }

    async fn findings<'q>(
        &self,
        query: impl Iterator<Item = (&'q str, &'q str)>,
    ) -> Result<ApiResponse, ApiResponse> {
        let filter = CaseFilter::from_parameters(query)?;
        let page = self.cases.findings(&filter).await?;
        Ok(ApiResponse::ok(200, json!(page)))
    }

    async fn incidents<'q>(
        &self,
        query: impl Iterator<Item = (&'q str, &'q str)>,
    ) -> Result<ApiResponse, ApiResponse> {
        let filter = CaseFilter::from_parameters(query)?;
        if let Some(parameter) = [
            ("detection", filter.detection.is_some()),
            ("status", filter.status.is_some()),
        ]
        .iter()
        .find_map(|(name, set)| set.then_some(*name))
        {
            return Err(ApiResponse::error(
                400,
                Some(parameter),
                format!("{parameter} filters findings, not incidents"),
            ));
        }
        let page = self.cases.incidents(&filter).await?;
        Ok(ApiResponse::ok(200, json!(page)))
    }

    /// A finding with its sample anomalies and the raw events behind them.
    async fn finding(&self, id: &str) -> Result<ApiResponse, ApiResponse> {
        let finding = self
            .cases
            .finding(id)
            .await?
            .ok_or_else(|| ApiResponse::not_found("finding", id))?;
        let mut anomalies = Vec::new();
        for event_id in &finding.event_ids {
            if let Some(anomaly) = self.anomalies.get(event_id).await? {
                anomalies.push(evidence(anomaly));
            }
        }
        Ok(ApiResponse::ok(
            200,
            json!({"finding": finding, "anomalies": anomalies}),
        ))
    }

    /// An incident with its findings, in the incident's order.
    async fn incident(&self, id: &str) -> Result<ApiResponse, ApiResponse> {
        let incident = self
            .cases
            .incident(id)
            .await?
            .ok_or_else(|| ApiResponse::not_found("incident", id))?;
        let mut findings: Vec<Finding> = Vec::new();
        for finding_id in &incident.finding_ids {
            if let Some(finding) = self.cases.finding(finding_id).await? {
                findings.push(finding);
            }
        }
        Ok(ApiResponse::ok(
            200,
            json!({"incident": incident, "findings": findings}),
        ))
    }

    async fn set_status(
        &self,
        id: &str,
        body: &[u8],
        caller: Option<&str>,
    ) -> Result<ApiResponse, ApiResponse> {
        let body: StatusBody = serde_json::from_slice(body).map_err(|error| {
            ApiResponse::error(
                400,
                Some("body"),
                format!("expected {{\"status\": \"...\", \"note\": \"...\"}}: {error}"),
            )
        })?;
        let status: Status = body
            .status
            .parse()
            .map_err(|problem: String| ApiResponse::error(400, Some("status"), problem))?;
        if body.note.as_ref().is_some_and(|note| note.len() > MAX_NOTE) {
            return Err(ApiResponse::error(
                400,
                Some("note"),
                format!("at most {MAX_NOTE} bytes"),
            ));
        }
        let change = StatusChange {
            status,
            note: body.note.filter(|note| !note.trim().is_empty()),
            by: caller.unwrap_or("unknown caller").to_string(),
            at: Utc::now(),
        };
        let finding = self
            .cases
            .set_status(id, &change)
            .await?
            .ok_or_else(|| ApiResponse::not_found("finding", id))?;
        Ok(ApiResponse::ok(200, json!(finding)))
    }

    async fn list_suppressions(&self) -> Result<ApiResponse, ApiResponse> {
        let mut rules = self.suppressions.rules().await?;
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(ApiResponse::ok(200, json!({ "items": rules })))
    }

    async fn add_suppression(&self, body: &[u8]) -> Result<ApiResponse, ApiResponse> {
        let rule: SuppressionRule = serde_json::from_slice(body).map_err(|error| {
            ApiResponse::error(
                400,
                Some("body"),
                format!("not a suppression rule: {error}"),
            )
        })?;
        // Checked as the detector will compile it: a rule it would skip is refused here.
        if let Err(error) = Suppressions::new(vec![rule.clone()]) {
            let field = match &error {
                crate::suppress::SuppressionError::Invalid { field, .. } => *field,
                crate::suppress::SuppressionError::Unreadable(_) => "body",
            };
            return Err(ApiResponse::error(400, Some(field), error.to_string()));
        }
        self.suppressions.put(&rule).await?;
        Ok(ApiResponse::ok(201, json!(rule)))
    }

    async fn remove_suppression(&self, id: &str) -> Result<ApiResponse, ApiResponse> {
        if self.suppressions.remove(id).await? {
            Ok(ApiResponse::ok(200, json!({ "deleted": id })))
        } else {
            Err(ApiResponse::not_found("suppression", id))
        }
    }

    /// What became of an event: evaluated with an anomaly (and its findings), evaluated
    /// without one, queued, or unknown.
    async fn event(&self, event_id: &str) -> Result<ApiResponse, ApiResponse> {
        if let Some(anomaly) = self.anomalies.get(event_id).await? {
            let findings = anomaly.finding_ids.clone();
            return Ok(ApiResponse::ok(
                200,
                json!({"event_id": event_id, "status": "anomaly",
                       "anomaly": evidence(anomaly), "findings": findings}),
            ));
        }
        let Some(queued) = self.ledger.queued(event_id).await? else {
            return Err(ApiResponse::error(
                404,
                None,
                format!(
                    "no event {event_id}: not posted to /ingest within the ledger's retention, \
                     and no anomaly of it (events delivered by EventBridge or S3 are known \
                     here only by their anomalies)"
                ),
            ));
        };
        let evaluated = self
            .receipts
            .evaluated(&queued.stream, queued.minute)
            .await?
            .contains(event_id);
        let status = if evaluated { "evaluated" } else { "queued" };
        Ok(ApiResponse::ok(
            200,
            json!({"event_id": event_id, "status": status, "queued_at": queued.queued_at}),
        ))
    }
}

/// An anomaly as evidence: its record parsed back into JSON under `event`.
fn evidence(mut anomaly: Anomaly) -> Value {
    let raw = anomaly.raw_event.take();
    let mut value = json!(anomaly);
    value["event"] = raw
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    value
}

/// The route a path takes, and its `{id}`; a stage prefix (`/prod/findings`) is dropped.
pub fn route_of(path: &str) -> Option<(&'static str, Option<&str>)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let known = |segment: &str| {
        ["ingest", "findings", "incidents", "suppressions", "events"].contains(&segment)
    };
    let segments = match segments.as_slice() {
        [first, rest @ ..] if !known(first) && rest.first().is_some_and(|s| known(s)) => rest,
        all => all,
    };
    ROUTES.iter().find_map(|(route, _)| {
        let pattern: Vec<&str> = route.trim_matches('/').split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut id = None;
        for (expected, actual) in pattern.iter().zip(segments) {
            if expected.starts_with('{') {
                if actual.is_empty() {
                    return None;
                }
                id = Some(*actual);
            } else if expected != actual {
                return None;
            }
        }
        Some((*route, id))
    })
}

#[cfg(test)]
mod tests;
