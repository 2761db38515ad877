--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

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

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_tokens (
    id integer NOT NULL,
    token_hash character varying(64) NOT NULL,
    user_id integer NOT NULL,
    name character varying(64) NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_used_at timestamp without time zone,
    revoked_at timestamp without time zone
);


--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.api_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: api_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.api_tokens_id_seq OWNED BY public.api_tokens.id;


--
-- Name: audit_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log (
    id integer NOT NULL,
    at timestamp without time zone NOT NULL,
    user_id integer,
    username character varying(64),
    role character varying(16),
    action character varying(64) NOT NULL,
    target character varying(255),
    detail_json text DEFAULT '{}'::text NOT NULL,
    ip character varying(64),
    user_agent character varying(256),
    via character varying(16) NOT NULL
);


--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_log_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_log_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_log_id_seq OWNED BY public.audit_log.id;


--
-- Name: batches; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.batches (
    id character varying(128) NOT NULL,
    status character varying(32) NOT NULL,
    reason text,
    file_count integer NOT NULL,
    page_count integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    updated_at timestamp without time zone NOT NULL,
    unit character varying(64),
    kind character varying(32),
    dossier_code character varying(255)
);


--
-- Name: corrections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.corrections (
    id integer NOT NULL,
    record_id character varying(128) NOT NULL,
    field character varying(64) NOT NULL,
    old text,
    new text,
    by character varying(128) NOT NULL,
    at timestamp without time zone NOT NULL,
    reason text NOT NULL
);


--
-- Name: corrections_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.corrections_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: corrections_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.corrections_id_seq OWNED BY public.corrections.id;


--
-- Name: fixity_failures; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fixity_failures (
    id integer NOT NULL,
    run_id integer NOT NULL,
    record_id character varying(128),
    unit character varying(64),
    status character varying(16) NOT NULL,
    reason character varying(200) NOT NULL,
    key character varying(1024)
);


--
-- Name: fixity_failures_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.fixity_failures_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: fixity_failures_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.fixity_failures_id_seq OWNED BY public.fixity_failures.id;


--
-- Name: fixity_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fixity_runs (
    id integer NOT NULL,
    started_at timestamp without time zone NOT NULL,
    finished_at timestamp without time zone,
    started_by character varying(80) NOT NULL,
    sample character varying(16),
    unit character varying(64),
    state character varying(16) NOT NULL,
    catalog_records integer,
    checked integer NOT NULL,
    problems integer NOT NULL,
    orphans integer,
    error character varying(120),
    owner character varying(120)
);


--
-- Name: fixity_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.fixity_runs_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: fixity_runs_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.fixity_runs_id_seq OWNED BY public.fixity_runs.id;


--
-- Name: records; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.records (
    id character varying(128) NOT NULL,
    batch_id character varying(128) NOT NULL,
    dossier_code character varying(255) NOT NULL,
    kind character varying(32) NOT NULL,
    unit character varying(64) NOT NULL,
    status character varying(32) NOT NULL,
    page_count integer NOT NULL,
    mean_confidence double precision NOT NULL,
    pdf_key text NOT NULL,
    pdf_sha256 character varying(64) NOT NULL,
    manifest_key text NOT NULL,
    manifest_sha256 character varying(64) NOT NULL,
    signer text NOT NULL,
    created_at timestamp without time zone NOT NULL,
    fields_json text DEFAULT '{}'::text NOT NULL,
    text text NOT NULL,
    fts_rowid integer,
    folded text,
    review_json text DEFAULT '[]'::text NOT NULL,
    code_key character varying(255),
    id_number character varying(64),
    name_key character varying(255),
    procedure_code character varying(64),
    sector character varying(255),
    received_on date
);


--
-- Name: register_entries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.register_entries (
    dossier_code character varying(255) NOT NULL,
    unit character varying(64) NOT NULL,
    procedure_code character varying(128),
    procedure_name text,
    field_code character varying(128),
    field_name text,
    received_on date,
    due_on date,
    finished_on date,
    status integer NOT NULL,
    channel integer,
    paper_result boolean NOT NULL,
    source text NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: register_units; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.register_units (
    code character varying(64) NOT NULL,
    name text NOT NULL,
    level character varying(8),
    parent character varying(64),
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: user_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.user_sessions (
    id_hash character varying(64) NOT NULL,
    user_id integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    last_seen_at timestamp without time zone NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    ip character varying(64)
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL,
    name character varying(64) NOT NULL,
    password_hash text NOT NULL,
    role character varying(16) NOT NULL,
    unit character varying(64),
    active boolean NOT NULL,
    created_at timestamp without time zone NOT NULL,
    password_changed_at timestamp without time zone NOT NULL
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: api_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens ALTER COLUMN id SET DEFAULT nextval('public.api_tokens_id_seq'::regclass);


--
-- Name: audit_log id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log ALTER COLUMN id SET DEFAULT nextval('public.audit_log_id_seq'::regclass);


--
-- Name: corrections id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.corrections ALTER COLUMN id SET DEFAULT nextval('public.corrections_id_seq'::regclass);


--
-- Name: fixity_failures id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fixity_failures ALTER COLUMN id SET DEFAULT nextval('public.fixity_failures_id_seq'::regclass);


--
-- Name: fixity_runs id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fixity_runs ALTER COLUMN id SET DEFAULT nextval('public.fixity_runs_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Data for Name: api_tokens; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: batches; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: corrections; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: fixity_failures; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: fixity_runs; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: records; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: register_entries; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: register_units; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.register_units VALUES ('H56', 'Tỉnh Quảng Trị', 'tinh', NULL, '2026-12-07 03:27:54.347817');
INSERT INTO public.register_units VALUES ('H56.01', 'Huyện Gio Linh', 'huyen', 'H56', '2026-12-07 03:27:54.350669');


--
-- Data for Name: user_sessions; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES (1, 'admin.tinh', '$argon2id$v=19$m=65536,t=3,p=4$S/yh3ddXGkEpyM8564z/8g$WgUpf73HF/BF2gjLgZ61bjmkyjRtVn5EThl0yF4UgfE', 'admin', NULL, true, '2026-12-07 03:27:54.195838', '2026-12-07 03:27:54.195838');
INSERT INTO public.users VALUES (2, 'kiemtra.h56', '$argon2id$v=19$m=65536,t=3,p=4$H7yVaE+OXA4GSZ7VyOVOrw$lWsFW0s7YtLf9yckZ545sfivw54LKngnySkxtOW4gsE', 'auditor', 'H56', true, '2026-12-07 03:27:54.342003', '2026-12-07 03:27:54.342003');


--
-- Name: api_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.api_tokens_id_seq', 1, false);


--
-- Name: audit_log_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.audit_log_id_seq', 1, false);


--
-- Name: corrections_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.corrections_id_seq', 1, false);


--
-- Name: fixity_failures_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.fixity_failures_id_seq', 1, false);


--
-- Name: fixity_runs_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.fixity_runs_id_seq', 1, false);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 2, true);


--
-- Name: api_tokens api_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);


--
-- Name: api_tokens api_tokens_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


--
-- Name: batches batches_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.batches
    ADD CONSTRAINT batches_pkey PRIMARY KEY (id);


--
-- Name: corrections corrections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.corrections
    ADD CONSTRAINT corrections_pkey PRIMARY KEY (id);


--
-- Name: fixity_failures fixity_failures_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fixity_failures
    ADD CONSTRAINT fixity_failures_pkey PRIMARY KEY (id);


--
-- Name: fixity_runs fixity_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fixity_runs
    ADD CONSTRAINT fixity_runs_pkey PRIMARY KEY (id);


--
-- Name: records records_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_pkey PRIMARY KEY (id);


--
-- Name: register_entries register_entries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.register_entries
    ADD CONSTRAINT register_entries_pkey PRIMARY KEY (dossier_code);


--
-- Name: register_units register_units_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.register_units
    ADD CONSTRAINT register_units_pkey PRIMARY KEY (code);


--
-- Name: user_sessions user_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_sessions
    ADD CONSTRAINT user_sessions_pkey PRIMARY KEY (id_hash);


--
-- Name: users users_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_name_key UNIQUE (name);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: ix_api_tokens_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_api_tokens_user_id ON public.api_tokens USING btree (user_id);


--
-- Name: ix_audit_log_action; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_log_action ON public.audit_log USING btree (action);


--
-- Name: ix_audit_log_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_log_at ON public.audit_log USING btree (at);


--
-- Name: ix_audit_log_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_log_user_id ON public.audit_log USING btree (user_id);


--
-- Name: ix_audit_log_username; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_log_username ON public.audit_log USING btree (username);


--
-- Name: ix_corrections_record_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_corrections_record_id ON public.corrections USING btree (record_id);


--
-- Name: ix_fixity_failures_run_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_fixity_failures_run_id ON public.fixity_failures USING btree (run_id);


--
-- Name: ix_fixity_runs_started_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_fixity_runs_started_at ON public.fixity_runs USING btree (started_at);


--
-- Name: ix_records_batch_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_batch_id ON public.records USING btree (batch_id);


--
-- Name: ix_records_code_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_code_key ON public.records USING btree (code_key);


--
-- Name: ix_records_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_created_at ON public.records USING btree (created_at);


--
-- Name: ix_records_dossier_code; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_dossier_code ON public.records USING btree (dossier_code);


--
-- Name: ix_records_id_number; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_id_number ON public.records USING btree (id_number);


--
-- Name: ix_records_kind_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_kind_key ON public.records USING btree (kind, fts_rowid);


--
-- Name: ix_records_name_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_name_key ON public.records USING btree (name_key);


--
-- Name: ix_records_procedure_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_procedure_key ON public.records USING btree (procedure_code, fts_rowid);


--
-- Name: ix_records_sector_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_sector_key ON public.records USING btree (sector, fts_rowid);


--
-- Name: ix_records_status_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_status_key ON public.records USING btree (status, fts_rowid);


--
-- Name: ix_records_unit_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_records_unit_key ON public.records USING btree (unit, fts_rowid);


--
-- Name: ix_register_entries_finished_on; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_register_entries_finished_on ON public.register_entries USING btree (finished_on);


--
-- Name: ix_register_entries_received_on; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_register_entries_received_on ON public.register_entries USING btree (received_on);


--
-- Name: ix_register_entries_unit; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_register_entries_unit ON public.register_entries USING btree (unit);


--
-- Name: ix_user_sessions_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_user_sessions_expires_at ON public.user_sessions USING btree (expires_at);


--
-- Name: ix_user_sessions_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_user_sessions_user_id ON public.user_sessions USING btree (user_id);


--
-- Name: ux_records_fts_rowid; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ux_records_fts_rowid ON public.records USING btree (fts_rowid);


--
-- Name: api_tokens api_tokens_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- Name: corrections corrections_record_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.corrections
    ADD CONSTRAINT corrections_record_id_fkey FOREIGN KEY (record_id) REFERENCES public.records(id);


--
-- Name: fixity_failures fixity_failures_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fixity_failures
    ADD CONSTRAINT fixity_failures_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.fixity_runs(id);


--
-- Name: records records_batch_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES public.batches(id);


--
-- Name: register_entries register_entries_unit_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.register_entries
    ADD CONSTRAINT register_entries_unit_fkey FOREIGN KEY (unit) REFERENCES public.register_units(code);


--
-- Name: user_sessions user_sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_sessions
    ADD CONSTRAINT user_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);


--
-- PostgreSQL database dump complete
--


