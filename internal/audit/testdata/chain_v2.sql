-- A hash chain written by the audit code as of commit 99a90ec, at format
-- version 2 (the last before acknowledged warnings), for TestChainV2.
--
-- How it was made: a throwaway test in this worktree at 99a90ec migrated a
-- fresh database to schema version 7, wrote four entries through
-- audit.Log.Begin/Finalise (a succeeded update with a submission key, a
-- failed change with the upstream's error and a reason with HTML-ish,
-- non-ASCII and U+2028 characters, an unknown-outcome rollback of #1 with a
-- note, and one left pending), checked Verify, and ran
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

INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version) VALUES (1, 'sk-v2-0001', '2026-11-27 17:25:09.548463+00', 'alice', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '7c1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'ticket OPS-9: logs only', NULL, NULL, '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '0000000000000000000000000000000000000000000000000000000000000000', 'aa7c7546163f69d6907af8c032d0e565ea5f6da8505243eed9ded85057a0afa2', 'succeeded', '2026-11-27 17:25:09.668463+00', '{}
', 200, '{"status":"accepted"}', 'req-v2-1', NULL, NULL, true, '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 120, NULL, 'e3a51fb2b6944bfb2d53931662ac3d1a4015c6b024e1b7ca715c5b53411fed75', 2);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version) VALUES (2, NULL, '2026-11-27 17:25:09.605143+00', 'Bob', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '7d2e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'widen <b>&</b> 权限 now', NULL, NULL, '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 'aa7c7546163f69d6907af8c032d0e565ea5f6da8505243eed9ded85057a0afa2', '6b6b2d1bae873654f405e5c1b156cfae0697c83f3d4be2b7ed4ba1cd10caf490', 'failed', '2026-11-27 17:25:09.645143+00', '{}
', 400, '{"error_code":"EndPoint.0005"}', 'req-v2-2', 'EndPoint.0005', 'bad policy', false, NULL, 40, NULL, 'd1ab7ef8efd6de2e4ee2a2dd0344e3721132d5c29f141acd107f1217fa48d166', 2);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version) VALUES (3, NULL, '2026-11-27 17:25:09.630826+00', 'carol', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '7c1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'rollback', 'undo #1', 1, 'before', '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '6b6b2d1bae873654f405e5c1b156cfae0697c83f3d4be2b7ed4ba1cd10caf490', 'c3dd18886266dca3e02c68fcc15e3999b59b84e386eeb7850b071c457dd20294', 'unknown', '2026-11-27 17:25:09.660826+00', '{}
', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 30, 'read-back matched neither side', 'a673b589f4cd6f9234356bdceaf9678c9f82ee3168fef3bdd0c63a266d6f5e7d', 2);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version) VALUES (4, NULL, '2026-11-27 17:25:09.648159+00', 'dave', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '7e3e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'left pending at the upgrade', NULL, NULL, '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 'c3dd18886266dca3e02c68fcc15e3999b59b84e386eeb7850b071c457dd20294', '01d4d324e99df5f3b820cc2ba88e79b5f612dd9a653b6c0306aae6dc72a56a61', 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2);


--
-- Name: audit_entries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.audit_entries_id_seq', 4, true);


--
-- PostgreSQL database dump complete
--


