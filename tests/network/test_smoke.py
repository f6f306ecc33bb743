def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_migrations_current(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["migrations"] == "current"


def test_invalid_query_is_problem_json(client):
    response = client.get("/api/v1/organisations?type=bakker")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == 400 and body["errors"][0]["field"] == "type"


def test_readyz_scheduler_without_a_scheduler_is_unavailable(client):
    response = client.get("/readyz/scheduler")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable" and response.json["heartbeat_at"] is None
    assert "outbox.deliver" in response.json["overdue_jobs"]
