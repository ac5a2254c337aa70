"""Employer API over real HTTP: ownership, retries, batches, medical confidentiality, problems."""

from __future__ import annotations

import uuid

from registry.services.workers import NO_SUCH_WORKER
from tests.conftest import Employer, Server
from tests.helpers import air_sample, new_worker

Live = tuple[Server, Employer, Employer]


def test_a_measurement_is_read_back_by_its_employer_only(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as mine, server.client(second.api_key) as theirs:
        worker = new_worker(mine)
        created = mine.post("/api/v1/measurements", json=air_sample(worker, value=0.37))
        assert created.status_code == 201, created.text
        measurement_id = created.json()["id"]

        mine_read = mine.get(f"/api/v1/measurements/{measurement_id}")
        assert mine_read.status_code == 200
        assert mine_read.json()["value"] == 0.37 and mine_read.json()["worker_id"] == worker

        theirs_read = theirs.get(f"/api/v1/measurements/{measurement_id}")
        assert theirs_read.status_code == 404
        assert theirs_read.headers["content-type"].startswith("application/problem+json")
        assert "0.37" not in theirs_read.text and worker not in theirs_read.text

        listed = theirs.get("/api/v1/measurements", params={"worker_id": worker}).json()
        assert listed["total"] == 0 and listed["items"] == []
        assert theirs.get(f"/api/v1/workers/{worker}").status_code == 404


def test_an_unknown_measurement_and_a_foreign_one_look_the_same(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        missing = client.get(f"/api/v1/measurements/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"


def test_retry_with_the_same_idempotency_key_creates_nothing_new(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        body = air_sample(worker, lab_report_id="RETRY-1")
        headers = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
        first_try = client.post("/api/v1/measurements", json=body, headers=headers)
        retry = client.post("/api/v1/measurements", json=body, headers=headers)
        assert first_try.status_code == retry.status_code == 201
        assert retry.json()["id"] == first_try.json()["id"]
        assert retry.headers.get("Idempotent-Replayed") == "true"
        listed = client.get("/api/v1/measurements", params={"worker_id": worker}).json()
        assert listed["total"] == 1

        changed = client.post("/api/v1/measurements", json={**body, "value": 9.9}, headers=headers)
        assert changed.status_code == 409
        assert "different request" in changed.json()["detail"]


def test_batch_retry_is_idempotent_too(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        body = {"items": [air_sample(worker, lab_report_id=f"B-{i}") for i in range(5)]}
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        created = client.post("/api/v1/measurements/batch", json=body, headers=headers)
        ids = [m["id"] for m in created.json()["items"]]
        again = client.post("/api/v1/measurements/batch", json=body, headers=headers)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == created.json() and len(set(ids)) == 5
        assert client.get("/api/v1/measurements", params={"worker_id": worker}).json()["total"] == 5


def test_a_batch_answers_ids_and_status_and_the_records_when_asked(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        items = [air_sample(worker, lab_report_id=f"P-{i}") for i in range(3)]
        items[1] |= {"substance_cas": "1332-21-4", "value": 5000, "unit": "f/cm3"}  # implausible: a warning
        minimal = client.post("/api/v1/measurements/batch", json={"items": items})
        assert minimal.status_code == 201, minimal.text
        assert "Preference-Applied" not in minimal.headers and minimal.headers["Vary"] == "Prefer"
        answer = minimal.json()
        assert answer["total"] == 3 and [m["index"] for m in answer["items"]] == [0, 1, 2]
        assert {m["status"] for m in answer["items"]} == {"created"}
        assert set(answer["items"][0]) == {"index", "id", "status", "warnings"}
        assert answer["items"][0]["warnings"] == [] and answer["items"][1]["warnings"][0].startswith("onwaarschijnlijk")
        for m in answer["items"]:
            assert client.get(f"/api/v1/measurements/{m['id']}").json()["worker_id"] == worker

        asked = {"Prefer": "respond-async, return=representation", "Idempotency-Key": str(uuid.uuid4())}
        full = client.post("/api/v1/measurements/batch", json={"items": items}, headers=asked)
        assert full.status_code == 201, full.text
        assert full.headers["Preference-Applied"] == "return=representation"
        page = full.json()
        assert page["total"] == page["limit"] == 3 and page["offset"] == 0
        assert [m["lab_report_id"] for m in page["items"]] == ["P-0", "P-1", "P-2"]
        assert page["items"][0]["worker_id"] == worker and page["items"][0]["value"] == 0.42
        assert page["items"][1]["warnings"] == answer["items"][1]["warnings"]
        stored = [client.get(f"/api/v1/measurements/{m['id']}").json() for m in page["items"]]
        assert [{**m, "warnings": []} for m in page["items"]] == stored

        # A replay answers as the first answer did, whatever the retry prefers.
        retry = client.post(
            "/api/v1/measurements/batch", json={"items": items}, headers={**asked, "Prefer": "return=minimal"}
        )
        assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == page
        assert "Preference-Applied" not in retry.headers
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first_minimal = client.post("/api/v1/measurements/batch", json={"items": items}, headers=key)
        replayed = client.post(
            "/api/v1/measurements/batch", json={"items": items}, headers={**key, "Prefer": "return=representation"}
        )
        assert replayed.json() == first_minimal.json() and replayed.headers["Idempotent-Replayed"] == "true"
        applied = client.post(
            "/api/v1/measurements/batch", json={"items": items[:1]}, headers={"Prefer": "return=minimal"}
        )
        assert applied.headers["Preference-Applied"] == "return=minimal" and applied.json()["total"] == 1


def test_a_bad_batch_reports_every_bad_item_and_stores_nothing(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as client, server.client(second.api_key) as other:
        worker = new_worker(client)
        foreign_worker = new_worker(other)
        before = client.get("/api/v1/measurements").json()["total"]
        items = [air_sample(worker) for _ in range(6)]
        items[1]["value"] = -3
        items[2]["substance_cas"] = "71-43-3"
        items[3]["worker_id"] = foreign_worker
        items[4]["sampling_start"] = "2010-01-01T08:00:00+01:00"  # before the employment began
        items[4]["sampling_end"] = "2010-01-01T16:00:00+01:00"
        items[5]["unit"] = "bananas"
        response = client.post("/api/v1/measurements/batch", json={"items": items})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        fields = {e["field"] for e in problem["errors"]}
        assert fields == {
            "items[1].value",
            "items[2].substance_cas",
            "items[3].worker_id",
            "items[4].worker_id",
            "items[5].unit",
        }
        assert {e["pointer"] for e in problem["errors"]} >= {"/items/1/value", "/items/5/unit"}
        assert client.get("/api/v1/measurements").json()["total"] == before


def test_a_batch_may_name_only_its_own_segs_and_sites(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as client, server.client(second.api_key) as other:
        worker = new_worker(client)
        own_seg = client.post("/api/v1/segs", json={"name": "Tanken"}).json()["id"]
        own_site = client.post("/api/v1/sites", json={"name": "Depot Noord"}).json()["id"]
        foreign_seg = other.post("/api/v1/segs", json={"name": "Lassen"}).json()["id"]
        foreign_site = other.post("/api/v1/sites", json={"name": "Werf Zuid"}).json()["id"]
        before = client.get("/api/v1/measurements").json()["total"]
        items = [
            air_sample(worker, seg_id=own_seg, site_id=own_site),
            air_sample(worker, seg_id=foreign_seg),
            air_sample(worker, site_id=foreign_site),
        ]
        refused = client.post("/api/v1/measurements/batch", json={"items": items})
        assert refused.status_code == 422, refused.text
        assert {e["field"] for e in refused.json()["errors"]} == {"items[1].seg_id", "items[2].site_id"}
        assert client.get("/api/v1/measurements").json()["total"] == before
        accepted = client.post("/api/v1/measurements/batch", json={"items": items[:1]})
        assert accepted.status_code == 201, accepted.text
        assert client.get("/api/v1/measurements").json()["total"] == before + 1


def test_ten_thousand_bad_items_are_counted_and_the_first_thousand_listed(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as client, server.client(second.api_key) as other:
        worker = new_worker(client)
        foreign = new_worker(other)
        before = client.get("/api/v1/measurements").json()["total"]
        # Each item: a value of the wrong type and an unknown field (the body does not decode).
        items = [air_sample(worker, value=f"{i},5", monster=f"M-{i}") for i in range(10_000)]
        refused = client.post("/api/v1/measurements/batch", json={"items": items})
        assert refused.status_code == 422 and len(refused.content) <= 1024 * 1024
        problem = refused.json()
        assert problem["total_errors"] == 20_000 and problem["invalid_items"] == 10_000
        assert len(problem["errors"]) == 1_000
        assert [e["field"] for e in problem["errors"][:3]] == ["items[0].monster", "items[0].value", "items[1].monster"]
        assert problem["errors"][-1] == {
            "field": "items[499].value",
            "pointer": "/items/499/value",
            "reason": "Expected `float | null`, got `str`",
        }
        assert "20,000 error(s) in 10,000 of the measurements" in problem["detail"]
        # Each item: another employer's worker (the body decodes; the store's rule refuses).
        items = [air_sample(foreign, lab_report_id=f"F-{i}") for i in range(10_000)]
        refused = client.post("/api/v1/measurements/batch", json={"items": items})
        assert refused.status_code == 422 and len(refused.content) <= 1024 * 1024
        problem = refused.json()
        assert problem["total_errors"] == problem["invalid_items"] == 10_000 and len(problem["errors"]) == 1_000
        assert {e["reason"] for e in problem["errors"]} == {NO_SUCH_WORKER}
        assert foreign not in refused.text
        assert client.get("/api/v1/measurements").json()["total"] == before


def test_a_large_batch_with_a_few_bad_items_stores_nothing(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as client, server.client(second.api_key) as other:
        worker = new_worker(client)
        foreign = new_worker(other)
        before = client.get("/api/v1/measurements").json()["total"]
        items = [air_sample(worker, lab_report_id=f"MIX-{i}") for i in range(3_000)]
        items[500]["value"] = "veel"  # the form: the body no longer decodes in one go
        items[1000]["unit"] = "bananas"  # a rule of one measurement
        items[1500]["worker_id"] = foreign  # a rule of the store
        items[2999]["sampling_end"] = items[2999]["sampling_start"]
        refused = client.post("/api/v1/measurements/batch", json={"items": items})
        assert refused.status_code == 422, refused.text[:500]
        found = [(e["field"], e["reason"]) for e in refused.json()["errors"]]
        assert [field for field, _ in found] == [
            "items[500].value",
            "items[1000].unit",
            "items[1500].worker_id",
            "items[2999].sampling_end",
        ]
        assert found[0][1] == "Expected `float | null`, got `str`" and found[1][1].startswith("unknown unit 'bananas'")
        assert found[2][1] == NO_SUCH_WORKER and found[3][1] == "must be after sampling_start"
        assert refused.json()["total_errors"] == refused.json()["invalid_items"] == 4
        assert client.get("/api/v1/measurements").json()["total"] == before
        good = [item for i, item in enumerate(items) if i not in (500, 1000, 1500, 2999)]
        assert client.post("/api/v1/measurements/batch", json={"items": good}).json()["total"] == 2_996
        assert client.get("/api/v1/measurements").json()["total"] == before + 2_996


def test_a_batch_of_ten_thousand_is_accepted(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        items = [air_sample(worker, value=0.01 + i / 1e5, lab_report_id=f"BIG-{i}") for i in range(10_000)]
        response = client.post("/api/v1/measurements/batch", json={"items": items})
        assert response.status_code == 201, response.text[:500]
        assert response.json()["total"] == 10_000
        assert client.get("/api/v1/measurements", params={"worker_id": worker}).json()["total"] == 10_000
        too_many = client.post("/api/v1/measurements/batch", json={"items": [*items, items[0]]})
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["field"] == "items"


def test_biological_results_are_withheld_from_the_employer(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = new_worker(client)
        blood = air_sample(
            worker,
            sample_type="biological",
            substance_cas="7439-92-1",
            value=27.5,
            unit="ug/100mL",
            matrix="blood",
            analyte="lood in bloed",
            air_volume_l=None,
        )
        created = client.post("/api/v1/measurements", json=blood)
        assert created.status_code == 201, created.text
        for response in (created, client.get(f"/api/v1/measurements/{created.json()['id']}")):
            body = response.json()
            assert body["value"] is None and body["lod"] is None and body["below_lod"] is None
            assert "bedrijfsarts" in body["result_withheld"] and "company doctor" in body["result_withheld"]
        assert "27.5" not in client.get("/api/v1/measurements", params={"worker_id": worker}).text


def test_measurement_for_a_worker_without_employment_is_refused(live: Live) -> None:
    server, first, _ = live
    with server.client(first.api_key) as client:
        worker = client.post(
            "/api/v1/workers",
            json={
                "bsn": "123456782",
                "name": "Zonder Dienstverband",
                "date_of_birth": "1980-01-01",
            },
        ).json()["id"]
        response = client.post("/api/v1/measurements", json=air_sample(worker))
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "field": "worker_id",
                "pointer": "/worker_id",
                "reason": "this worker has no employment with your organisation",
            }
        ]


def test_problem_responses_for_auth_and_size(live: Live) -> None:
    server, first, _ = live
    with server.client() as anonymous:
        response = anonymous.get("/api/v1/measurements")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["title"] == "Authentication required"
    with server.client("brk_0000000000000000_forged") as forged:
        assert forged.get("/api/v1/measurements").status_code == 401
    with server.client(first.api_key) as client:
        huge = client.post("/api/v1/workers", content=b'{"name": "' + b"x" * 2_000_000 + b'"}')
        assert huge.status_code == 413 and huge.json()["type"] == "/problems/payload-too-large"
        bad_json = client.post("/api/v1/workers", content=b"{not json", headers={"content-type": "application/json"})
        assert bad_json.status_code == 422 and bad_json.json()["errors"][0]["reason"] == "body is not valid JSON"
        bad_purpose = client.get("/api/v1/measurements", headers={"X-Purpose": "curiosity"})
        assert bad_purpose.status_code == 422 and bad_purpose.json()["errors"][0]["field"] == "header:X-Purpose"
        wrong_purpose = client.get("/api/v1/measurements", headers={"X-Purpose": "research"})
        assert wrong_purpose.status_code == 403


def test_openapi_and_docs_are_served_locally(live: Live) -> None:
    server, _, _ = live
    with server.client() as client:
        spec = client.get("/schema/openapi.json").json()
        assert "/api/v1/measurements/batch" in spec["paths"]
        assert "MeasurementIn" in spec["components"]["schemas"]
        batch = spec["paths"]["/api/v1/measurements/batch"]["post"]
        shapes = batch["responses"]["201"]["content"]["application/json"]["schema"]["oneOf"]
        assert {shape["$ref"].rsplit("/", 1)[1] for shape in shapes} == {
            "BatchResult",
            "Page_schemas.exposure.MeasurementOut_",
        }
        assert "Preference-Applied" in batch["responses"]["201"]["headers"]
        assert [p["name"] for p in batch["parameters"] if p["in"] == "header"] == ["Prefer"]
        assert {"total_errors", "invalid_items"} <= set(spec["components"]["schemas"]["Problem"]["properties"])
        page = client.get("/schema/swagger").text
        assert "https://" not in page and "/schema/assets/swagger-ui-bundle.js" in page
        assert client.get("/schema/assets/swagger-ui-bundle.js").status_code == 200


def test_worker_list_shows_own_workers_only(live: Live) -> None:
    server, first, second = live
    with server.client(first.api_key) as mine, server.client(second.api_key) as theirs:
        worker = new_worker(mine)
        listed = mine.get("/api/v1/workers", params={"limit": 500})
        assert listed.status_code == 200 and worker in {w["id"] for w in listed.json()["items"]}
        assert listed.json()["total"] >= len(listed.json()["items"])
        assert worker not in {w["id"] for w in theirs.get("/api/v1/workers", params={"limit": 500}).json()["items"]}
