//! Failures only a database server can have.

use crate::support::TestApp;
use serde_json::json;

/// A database failure during operation (here: PostgreSQL loses the test's
/// schema under a running server) answers the generic 500 envelope, never a
/// panic or a dropped connection, and the detail stays in the server log.
#[tokio::test]
async fn a_failing_database_gives_the_generic_500() {
    let app = TestApp::new().await;
    app.break_database().await;
    let reply = app.get("/api/v1/chat.getMessage?msgId=anything", Some(&app.admin)).await;
    assert_eq!(reply.status.as_u16(), 500, "{}", reply.body);
    assert_eq!(reply.body, json!({"success": false, "error": "Internal server error"}));
}
