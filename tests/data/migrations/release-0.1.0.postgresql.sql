-- The schema of release 0.1.0 (before migrations), frozen: Base.metadata.create_all's DDL on postgresql
-- with every table of resilience.storage.tables, early_warning.supersede and early_warning.intake.
-- Read by tests/resilience/storage/test_migrations.py to build a database as that release wrote
-- it. Never regenerate or edit: it stands for databases already in the field.
CREATE TABLE alert_withdrawals (
	id SERIAL NOT NULL, 
	identifier VARCHAR(64) NOT NULL, 
	alert_key VARCHAR(200) NOT NULL, 
	hazard VARCHAR(40) NOT NULL, 
	area VARCHAR(200) NOT NULL, 
	msg_type VARCHAR(10) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	sent TIMESTAMP WITH TIME ZONE NOT NULL, 
	withdrawn_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	by_forecast VARCHAR(20) NOT NULL, 
	cap_xml TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_alert_withdrawals_alert_key ON alert_withdrawals (alert_key);

CREATE INDEX ix_alert_withdrawals_identifier ON alert_withdrawals (identifier);

CREATE TABLE alerts (
	id SERIAL NOT NULL, 
	identifier VARCHAR(64) NOT NULL, 
	alert_key VARCHAR(200) NOT NULL, 
	hazard VARCHAR(40) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	msg_type VARCHAR(10) NOT NULL, 
	area VARCHAR(200) NOT NULL, 
	sent TIMESTAMP WITH TIME ZONE NOT NULL, 
	onset TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires TIMESTAMP WITH TIME ZONE NOT NULL, 
	"references" TEXT NOT NULL, 
	agencies JSON NOT NULL, 
	cap_xml TEXT NOT NULL, 
	created TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (identifier)
);

CREATE INDEX ix_alerts_alert_key ON alerts (alert_key);

CREATE TABLE forecast_runs (
	id SERIAL NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	path VARCHAR(1000) NOT NULL, 
	issued VARCHAR(40) NOT NULL, 
	messages INTEGER NOT NULL, 
	new_messages INTEGER NOT NULL, 
	withdrawn INTEGER NOT NULL, 
	processed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (sha256)
);

CREATE TABLE submissions (
	id SERIAL NOT NULL, 
	project_name VARCHAR(200) NOT NULL, 
	asset_type VARCHAR(50) NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	payload JSON NOT NULL, 
	created TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE check_results (
	id SERIAL NOT NULL, 
	submission_id INTEGER NOT NULL, 
	verdict VARCHAR(40) NOT NULL, 
	score FLOAT NOT NULL, 
	layer_versions JSON NOT NULL, 
	payload JSON NOT NULL, 
	created TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE TABLE outbox_messages (
	id SERIAL NOT NULL, 
	alert_id INTEGER NOT NULL, 
	identifier VARCHAR(64) NOT NULL, 
	agency VARCHAR(60) NOT NULL, 
	episode VARCHAR(200) NOT NULL, 
	due_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	expires TIMESTAMP WITH TIME ZONE NOT NULL, 
	planned BOOLEAN NOT NULL, 
	created TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_message UNIQUE (identifier, agency), 
	FOREIGN KEY(alert_id) REFERENCES alerts (id)
);

CREATE INDEX ix_outbox_messages_agency ON outbox_messages (agency);

CREATE INDEX ix_outbox_messages_alert_id ON outbox_messages (alert_id);

CREATE INDEX ix_outbox_messages_episode ON outbox_messages (episode);

CREATE TABLE outbox_deliveries (
	id SERIAL NOT NULL, 
	outbox_id INTEGER NOT NULL, 
	channel VARCHAR(10) NOT NULL, 
	target VARCHAR(1000) NOT NULL, 
	state VARCHAR(10) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	lease_until TIMESTAMP WITH TIME ZONE, 
	lease_owner VARCHAR(40), 
	last_status INTEGER, 
	last_error TEXT NOT NULL, 
	delivered_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_delivery UNIQUE (outbox_id, channel), 
	FOREIGN KEY(outbox_id) REFERENCES outbox_messages (id)
);

CREATE INDEX ix_outbox_deliveries_next_attempt_at ON outbox_deliveries (next_attempt_at);

CREATE INDEX ix_outbox_deliveries_outbox_id ON outbox_deliveries (outbox_id);

CREATE INDEX ix_outbox_deliveries_state ON outbox_deliveries (state);

CREATE TABLE outbox_attempts (
	id SERIAL NOT NULL, 
	delivery_id INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	worker VARCHAR(40) NOT NULL, 
	started TIMESTAMP WITH TIME ZONE NOT NULL, 
	finished TIMESTAMP WITH TIME ZONE, 
	outcome VARCHAR(10) NOT NULL, 
	http_status INTEGER, 
	error TEXT NOT NULL, 
	duration_ms FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(delivery_id) REFERENCES outbox_deliveries (id)
);

CREATE INDEX ix_outbox_attempts_delivery_id ON outbox_attempts (delivery_id);
