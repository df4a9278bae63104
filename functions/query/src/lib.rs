//! The query function: an HTTP request from API Gateway (HTTP API or REST API) or a function
//! URL, handed to `trailwatch_shared::api`, and its answer turned back into HTTP.

use lambda_http::{Body, Error, Request, RequestExt, Response};
use trailwatch_shared::api::{ApiRequest, QueryApi};
use trailwatch_shared::ports::{
    AnomalyStore, CaseQueries, CaseStore, IngestLedger, ReceiptStore, SuppressionStore,
};

pub async fn handle<C, A, S, L, R>(
    api: &QueryApi<'_, C, A, S, L, R>,
    request: Request,
) -> Result<Response<Body>, Error>
where
    C: CaseStore + CaseQueries,
    A: AnomalyStore,
    S: SuppressionStore,
    L: IngestLedger,
    R: ReceiptStore,
{
    let caller = trailwatch_ingest::caller_arn(&request);
    let query = request
        .query_string_parameters_ref()
        .map(|parameters| {
            parameters
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let answer = api
        .handle(ApiRequest {
            method: request.method().as_str(),
            path: request.uri().path(),
            query,
            body: request.body().as_ref(),
            caller: caller.as_deref(),
        })
        .await;
    trailwatch_ingest::json_response(answer.status, answer.allow, &answer.body)
}
