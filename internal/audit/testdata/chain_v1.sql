-- A hash chain written by the audit code as of commit 5c56403, before format
-- versions existed (every entry here is format version 1), for TestChainV1.
--
-- How it was made: a throwaway test in a worktree of 5c56403 migrated a
-- fresh database to schema version 3, wrote seven entries through
-- audit.Log.Begin/Finalise (a succeeded update, a failed change with the
-- upstream's error, an unknown outcome, a rollback of #1, a reason with
-- HTML-ish, non-ASCII and U+2028 characters, a pending rollback, and one
-- more after it), checked Verify, and ran
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

INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (1, 'sk-0001', '2026-03-01 09:00:00+00', 'alice', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'ticket OPS-1: logs only', NULL, NULL, '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '0000000000000000000000000000000000000000000000000000000000000000', '6a966e010619cb77ea3e8e3f9aee66fa6fd0b754f1aaf8a025d20a1e5d63104c', 'succeeded', '2026-03-01 09:00:00.12+00', '{"policy_statement":[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]}
', 200, '{"id":"4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c","status":"accepted"}', 'req-7f3a', NULL, NULL, true, '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 120, NULL, '22d3bf54c60e529e2b6bebd1e16343684a942ba2e2d3453aa1c41851e07e98fa');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (2, 'sk-0002', '2026-03-02 09:30:15.123456+00', 'bob', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'widen to all buckets', NULL, NULL, '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '[{"Action":["obs:bucket:*"],"Effect":"Allow","Resource":["obs:*:*:bucket:*"]}]', '6a966e010619cb77ea3e8e3f9aee66fa6fd0b754f1aaf8a025d20a1e5d63104c', '6620a1168492246f34643b5bf4c6504b529dffffb195a77e3000484ed5236035', 'failed', '2026-03-02 09:30:15.4+00', '{"policy_statement":[{"Action":["obs:bucket:*"],"Effect":"Allow","Resource":["obs:*:*:bucket:*"]}]}
', 400, '{"error_code":"EndPoint.0005","error_msg":"The policy is invalid."}', 'req-9c21', 'EndPoint.0005', 'The policy is invalid.', NULL, NULL, 277, NULL, '8c7f7546c9fa530755556493bd5d4df5a4e358d28006ce9339311b9076c9faeb');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (3, NULL, '2026-03-03 08:00:00.000001+00', 'carol', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'no answer expected', NULL, NULL, 'null', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '6620a1168492246f34643b5bf4c6504b529dffffb195a77e3000484ed5236035', '3e2cd0881512ad09a9a7065f943a07c72844bc2655b3ba2c4c0cd8ab36cb1eaa', 'unknown', '2026-03-03 08:05:00.5+00', '{"policy_statement":[]}
', NULL, NULL, NULL, NULL, 'Post "https://vpcep.cn-north-4.myhuaweicloud.com": context deadline exceeded', NULL, NULL, 300000, 'The reconciler found the live policy matching neither side.', 'acffb5afb632ececa7410fea8b64b6cba0c1c48a63a7cb18e6d8e0400e0353af');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (4, 'sk-0004', '2026-03-04 10:11:12.654321+00', 'alice', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'rollback', 'Rollback of #1', 1, 'before', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '3e2cd0881512ad09a9a7065f943a07c72844bc2655b3ba2c4c0cd8ab36cb1eaa', '54fc7563d7091800e6050c30dadc5fbdc0768c452c55ee3cf40fd31d9c6cdf29', 'succeeded', '2026-03-04 10:11:13+00', '{"policy_statement":[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]}
', 200, '{}', 'req-rb4', NULL, NULL, false, '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 1001, 'read back <stale> & retried', '0f171e4e492f86a766a4d0fcd435c6d56e7bf17004450195c99f7b4171ede444');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (5, NULL, '2026-03-05 23:59:59.999999+00', 'dörte', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', '<a&b> "quoted" Ünïcode 変更 ✓ line sep	tab', NULL, NULL, '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:*"],"Effect":"Allow","Resource":["obs:*:*:object:a<b>&c/*"]}]', '54fc7563d7091800e6050c30dadc5fbdc0768c452c55ee3cf40fd31d9c6cdf29', '0409e5e971b327e7423896b1eb2704cce153dfc03097078bc54f0db4a4c86e9f', 'succeeded', '2026-03-06 00:00:00.000002+00', '{"policy_statement":"<&>"}
', 204, NULL, NULL, NULL, NULL, true, '[{"Resource":["obs:*:*:object:a<b>&c/*"]}]', 5, NULL, '4f3df8c1d8fff792f4aa4de776b2219a1db31ad42ac992d313d143b07ac4b0d4');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (6, 'sk-0006', '2026-03-06 12:00:00.25+00', 'bob', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'rollback', 'Restore of the version after #2', 2, 'after', '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', '0409e5e971b327e7423896b1eb2704cce153dfc03097078bc54f0db4a4c86e9f', 'c7710a55895434176c5c059746df9a6e4e2e8d2c731a99cf2f9f876a58aef700', 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash) VALUES (7, NULL, '2026-03-07 07:07:07.070707+00', 'alice', '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4', '4a1e7b2c-0d3f-4e5a-8b6c-7d8e9f0a1b2c', 'com.myhuaweicloud.cn-north-4.obs', 'update', 'after the pending one', NULL, NULL, '[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]', '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 'c7710a55895434176c5c059746df9a6e4e2e8d2c731a99cf2f9f876a58aef700', 'cfb720db5bc69ca060b084118c30230bf77a3f403c5b971c47f7b9ae4ebb06ac', 'succeeded', '2026-03-07 07:07:08+00', '{}
', 200, '{}', NULL, NULL, NULL, true, '[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]', 0, NULL, 'da8390f468068dc4cfdce07b8dea8763abb3917d54513961a4186fd37e00e4d2');


--
-- Name: audit_entries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.audit_entries_id_seq', 7, true);


--
-- PostgreSQL database dump complete
--


