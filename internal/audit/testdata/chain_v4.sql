-- A hash chain written by the audit code of format version 4 (branch
-- wt-auditv4, the code of the commit that adds this file: attribution
-- stored in the audit's own encoding and hashed as the text stored), for
-- TestChainV4. It replaces the first version 4 fixture, made before that
-- change; version 4 was not released, so no deployment holds entries of the
-- earlier encoding.
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

INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (1, NULL, '2026-11-27 21:34:40.985767+00', 'console', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'baseline', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '0000000000000000000000000000000000000000000000000000000000000000', 'fd9590202d9c4c6252e90202904510b04f9529aa77d17601ef5b5c95acc18113', 'succeeded', '2026-11-27 21:34:40.985767+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'The policy as the console first found it.', '83d0ca76bceb3e48d0132e308b31b5b82854a07ffc8d0c49ee41d26e8dd4b6df', 4, NULL, 'baseline', NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (2, NULL, '2026-11-27 21:34:41.00566+00', 'external', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'drift', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', 'fd9590202d9c4c6252e90202904510b04f9529aa77d17601ef5b5c95acc18113', 'e8cb3ed468ca638ce96a799aae609df04f54c4ac2efe12455163aae1bc2458eb', 'succeeded', '2026-11-27 21:34:41.00566+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'Changed outside the console (entry #1); who: not yet known < >.', '890345a3d135c69ec59b3dfe599c393b3a0ee8bbc7ed43b7c7acf159ed6a729d', 4, NULL, 'refresh', NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (3, NULL, '2026-11-27 21:34:41.010491+00', 'cts', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'attribute', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', 'e8cb3ed468ca638ce96a799aae609df04f54c4ac2efe12455163aae1bc2458eb', 'f2c97c1789842a90798f20c61f40beec3d96d5418a1ce89eb13176e1d9ffb861', 'succeeded', '2026-11-27 21:34:41.010491+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'CTS recorded who changed it.', '35bbb2c1734028c4b8d353be77d45aec402e9ecc109dcd18476e516e9780ca3e', 4, NULL, NULL, 2, '[{"trace_id":"b3e1-\u003c\u0026\u003e","trace_name":"updateEndpointPolicy","resource_id":"ep-1","user":"ålice","source_ip":"192.0.2.10","time":"2026-11-27T18:58:01.123456789Z","request_id":"req-1"}]');
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (4, NULL, '2026-11-27 21:34:41.058803+00', 'carol', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'adopt', 'Terraform owns it now — "really"', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', 'f2c97c1789842a90798f20c61f40beec3d96d5418a1ce89eb13176e1d9ffb861', '0b9d84a3f6a2b97e3c687b32fe20254f608b93b617e917510d8319fe9ab4f65c', 'succeeded', '2026-11-27 21:34:41.058803+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'Adopted. Nothing was sent.', 'a005379242fbb1642b2aa760ed0b85ff17a7b821ed0b4deb7c410c8df821e115', 4, NULL, NULL, 2, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (5, NULL, '2026-11-27 21:34:41.084912+00', 'dave', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'update', 'narrow it again', NULL, NULL, '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '0b9d84a3f6a2b97e3c687b32fe20254f608b93b617e917510d8319fe9ab4f65c', '5670f231b580442b510839009018468a354abc0a416ea72b083e9ee4e827ce1c', 'succeeded', '2026-11-27 21:34:41.087912+00', '{}
', 200, NULL, NULL, NULL, NULL, true, '[]', 3, '<done> & dusted', '9c1e2af41e2b661e30e6c2a80dfe9e0d197e6bf8c5dbccd6deb36cff3bc51607', 4, '["allows_everything"]', NULL, NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (6, NULL, '2026-11-27 21:34:41.113117+00', 'external', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'drift', '', NULL, NULL, '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '5670f231b580442b510839009018468a354abc0a416ea72b083e9ee4e827ce1c', '5ec5bdf5a8bddd6c8bc5e819755df44fcbeab59e6f68425b478721bda0c9d41e', 'succeeded', '2026-11-27 21:34:41.113117+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 'CTS not enabled.', 'b0a149f233e0c0899d26f42ce1a69c53f8c92d23dc6c9c5d28824070471a6501', 4, NULL, 'change', NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (7, NULL, '2026-11-27 21:34:41.129394+00', 'erin', 'p1', 'cn-north-4', 'ep-1', 'com.example.obs', 'rollback', 'Revert of #6', 6, 'known', '[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]', '[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:logs/*"]}]', '5ec5bdf5a8bddd6c8bc5e819755df44fcbeab59e6f68425b478721bda0c9d41e', '40d8a675376cac9c3c9f65631adb4eebdebd62f8671b6f30eea515dcfce9674a', 'succeeded', '2026-11-27 21:34:41.132394+00', '{}
', 200, NULL, NULL, NULL, NULL, true, '[]', 3, '<done> & dusted', 'cd1ee3b16483560431f8ff6d95ac28f48ad5dd0999ebd168d8e0a9c1208c3214', 4, NULL, NULL, NULL, NULL);
INSERT INTO public.audit_entries (id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, readback_policy, duration_ms, note, final_hash, format_version, acknowledged_warnings, detected_by, refers_to, attribution) VALUES (8, NULL, '2026-11-27 21:34:41.157311+00', 'frank', 'p1', 'cn-north-4', 'ep-2', 'com.example.obs', 'update', 'left pending', NULL, NULL, 'null', '[{"Effect":"Allow","Resource":["*"]}]', '40d8a675376cac9c3c9f65631adb4eebdebd62f8671b6f30eea515dcfce9674a', '96e04ac003a6f4fc709edb13333d81ae3fc04063f46284eb05c6a002f6cbbf56', 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 4, NULL, NULL, NULL, NULL);


--
-- Name: audit_entries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.audit_entries_id_seq', 8, true);


--
-- PostgreSQL database dump complete
--


