-- A hash chain written by the audit code as of commit eac3cca, at format
-- version 3 (the last before the drift fields), for TestChainV3.
--
-- How it was made: a throwaway test in a copy of eac3cca (git archive)
-- migrated a fresh database to schema version 12, wrote four entries
-- through audit.Log.Begin/Finalise (a succeeded update with a submission
-- key, two acknowledged warnings and a reason with HTML-ish, non-ASCII and
-- U+2028 characters, a failed change with the upstream's error, an
-- unknown-outcome rollback of #1, and one left pending), checked Verify,
-- and ran
--   pg_dump --data-only --table=audit_entries --inserts --column-inserts
-- The dump's psql-only \restrict/\unrestrict lines were removed; nothing
-- else was changed. Do not edit: its hashes are over these exact values.
--
--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Data for Name: audit_entries; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings) VALUES (1, 'api:alice:k-1', '2026-11-27 20:54:55.342944+00', 'alice', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'update', 'narrow <access> —   "now"', NULL, NULL, 'null', '[{"Effect":"Allow","Resource":["*"]}]', '0000000000000000000000000000000000000000000000000000000000000000', '90e06622c2ef6cafeef7efcad1af0f3bf5324f4583f5c931cf94da59b6898ac3', 'succeeded', '2026-11-27 20:54:55.345944+00', '{}
', 200, NULL, NULL, NULL, NULL, true, '[]', 3, '<done> & dusted', '74c25e1935529bc8c4f76f9489c5ec0025fa3a0c75e6e2a02abe6128a9aac248', 3, '["allows_everything","unusual_resource"]');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings) VALUES (2, NULL, '2026-11-27 20:54:55.364131+00', 'bob', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'update', 'fails upstream', NULL, NULL, 'null', '[{"Effect":"Allow","Resource":["*"]}]', '90e06622c2ef6cafeef7efcad1af0f3bf5324f4583f5c931cf94da59b6898ac3', '04033720b27f943dc631c69154f3bb0c33095205a4545ee8d1afe95a516cf38e', 'failed', '2026-11-27 20:54:55.370167+00', '{}', 400, '{"error_code":"EndPoint.0001"}', 'req-2', 'EndPoint.0001', 'bad <policy>', NULL, NULL, 6, 'refused', '4bc4348c4cb9fc4c0ac83c6e39dc06092a9c8edd6a797da9e5005acf11e81132', 3, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings) VALUES (3, NULL, '2026-11-27 20:54:55.37294+00', 'carol', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'rollback', 'Rollback of #1', 1, 'before', 'null', '[{"Effect":"Allow","Resource":["*"]}]', '04033720b27f943dc631c69154f3bb0c33095205a4545ee8d1afe95a516cf38e', '8a93a92a5377e20e8a9aca0f8720381b890af7362d2ce199b077dbd781c86544', 'unknown', '2026-11-27 20:54:55.378786+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 5, 'neither before nor requested', 'fb2cf887a32444677eca9d0a114b1b8432b2178d14b67fd9aa5c2b30839ba1db', 3, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings) VALUES (4, NULL, '2026-11-27 20:54:55.383467+00', 'dave', 'p1', 'cn-north-4', 'ep-2', 'com.example.obs', 'update', 'left pending', NULL, NULL, 'null', '[{"Effect":"Allow","Resource":["*"]}]', '8a93a92a5377e20e8a9aca0f8720381b890af7362d2ce199b077dbd781c86544', '4319c0422851f084710737187e0d81fa71f1ca81e27dde6beb19120fd969d441', 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3, NULL);


--
-- Name: audit_entries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.audit_entries_id_seq', 4, true);


--
-- PostgreSQL database dump complete
--


