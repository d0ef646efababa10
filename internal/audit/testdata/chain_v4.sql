-- A hash chain written by the audit code of format version 4 (branch
-- wt-drift, after commit 6a5a3ca), for TestChainV4.
--
-- How it was made: a throwaway test in this worktree migrated a fresh
-- database to schema version 15, wrote eight entries (a baseline, a drift,
-- an attribute entry with a CTS trace whose id and user JSON escapes, an
-- adopt with a reason holding quotes and non-ASCII characters, an update
-- with an acknowledged warning through Begin/Finalise, a second drift, a
-- revert of it (rollback, restores "known") and one update left pending) through
-- audit.Log.Append and Begin/Finalise, checked Verify, and ran
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

INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (1, NULL, '2026-11-27 20:33:58.575479+00', 'console', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'baseline', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '0000000000000000000000000000000000000000000000000000000000000000', '59d3b5d6ec1c72856fb746dd649437fb58b8be006fe3be2b7bbdca94815344db', 'succeeded', '2026-11-27 20:33:58.575479+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'The policy as the console first found it.', '588f4f8e9a366e2eba849a0a5c030b0ac549cd492b2e359349a0b7866863a16a', 4, NULL, 'baseline', NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (2, NULL, '2026-11-27 20:33:58.620309+00', 'external', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'drift', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '59d3b5d6ec1c72856fb746dd649437fb58b8be006fe3be2b7bbdca94815344db', '91f2f8804e76a48fa179b5e3da6ab7a4821155f96937695bc4046757a69baa58', 'succeeded', '2026-11-27 20:33:58.620309+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'Changed outside the console (entry #1); who: not yet known < >.', '374ffadd2edccd10b4ec6d4858e330ae4d1f37fc2d4169726fc229a4a05a29f9', 4, NULL, 'refresh', NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (3, NULL, '2026-11-27 20:33:58.634169+00', 'cts', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'attribute', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '91f2f8804e76a48fa179b5e3da6ab7a4821155f96937695bc4046757a69baa58', 'c2fcd142317492b0f9085128bf156aa027d8b3c6e536b2200cb2f8e44252c84f', 'succeeded', '2026-11-27 20:33:58.634169+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'CTS recorded who changed it.', '65585a7c2f1e055ff6a01e8885603cb4c06a9f3c785d02d01dc437b3de597804', 4, NULL, NULL, 2, '[{"trace_id":"b3e1-\u003c\u0026\u003e","trace_name":"updateEndpointPolicy","resource_id":"ep-1","user":"ålice","source_ip":"192.0.2.10","time":"2026-11-27T18:58:01.123456789Z","request_id":"req-1"}]');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (4, NULL, '2026-11-27 20:33:58.640022+00', 'carol', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'adopt', 'Terraform owns it now — "really"', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', 'c2fcd142317492b0f9085128bf156aa027d8b3c6e536b2200cb2f8e44252c84f', '7cbb013ab6acc32bd08bfc3f7fc2c45879358854c971ae1c48d0d3fc2b04fda3', 'succeeded', '2026-11-27 20:33:58.640022+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'Adopted. Nothing was sent.', 'cad1f73e5d3c2b3de5bff08778dcbbec1d826f72cad24020833d8e8572d95a57', 4, NULL, NULL, 2, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (5, NULL, '2026-11-27 20:33:58.644481+00', 'dave', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'update', 'narrow it again', NULL, NULL, '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '7cbb013ab6acc32bd08bfc3f7fc2c45879358854c971ae1c48d0d3fc2b04fda3', '10a471255ee828b4c133e20fa7c34deea8c41c4aa4120e5c7e5454080cc12408', 'succeeded', '2026-11-27 20:33:58.647481+00', '{}
', 200, NULL, NULL, NULL, NULL, true, '[]', 3, '<done> & dusted', 'f1bf24b2d32c931c967af927a20eb1c73a77994e54316ad096e3d9a81b41c1ff', 4, '["allows_everything"]', NULL, NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (6, NULL, '2026-11-27 20:33:58.652279+00', 'external', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'drift', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '10a471255ee828b4c133e20fa7c34deea8c41c4aa4120e5c7e5454080cc12408', '787b8962610319fe861ae73352f7b1644ee68caf6af5fcb98bb6493e356d0b9c', 'succeeded', '2026-11-27 20:33:58.652279+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'CTS not enabled.', '2bb7f670665aca683a29baf05d3c3841e71ad9389f2b3a1a0a6d917a5b8b875a', 4, NULL, 'change', NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (7, NULL, '2026-11-27 20:33:58.662233+00', 'erin', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'rollback', 'Revert of #6', 6, 'known', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '787b8962610319fe861ae73352f7b1644ee68caf6af5fcb98bb6493e356d0b9c', '03f7bb97501e2a94d2c7e77159f5f449110423edca332a86d0800fa35ea5ebdb', 'succeeded', '2026-11-27 20:33:58.665233+00', '{}
', 200, NULL, NULL, NULL, NULL, true, '[]', 3, '<done> & dusted', 'ebba9eeeba020644d17795e20934133a2b52eee9d3ac7d4f93aeb4cd19426abd', 4, NULL, NULL, NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (8, NULL, '2026-11-27 20:33:58.669485+00', 'frank', 'p1', 'cn-north-4', 'ep-2', 'com.example.obs', 'update', 'left pending', NULL, NULL, 'null', '[{"Effect":"Allow","Resource":["*"]}]', '03f7bb97501e2a94d2c7e77159f5f449110423edca332a86d0800fa35ea5ebdb', '1853f829db038936156f8376e30efab73fb94fcd97126ebaaadb5e6c941f52e2', 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 4, NULL, NULL, NULL, NULL);


--
-- Name: audit_entries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.audit_entries_id_seq', 8, true);


--
-- PostgreSQL database dump complete
--


