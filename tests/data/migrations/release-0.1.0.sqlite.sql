-- The schema of release 0.1.0 (before migrations), frozen: Base.metadata.create_all's DDL on sqlite
-- with every table of resilience.storage.tables, early_warning.supersede and early_warning.intake.
-- Read by tests/resilience/storage/test_migrations.py to build a database as that release wrote
-- it. Never regenerate or edit: it stands for databases already in the field.
CREATE TABLE submissions (
	id INTEGER NOT NULL, 
	project_name VARCHAR(200) NOT NULL, 
	asset_type VARCHAR(50) NOT NULL, 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	payload JSON NOT NULL, 
	created DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE alerts (
	id INTEGER NOT NULL, 
	identifier VARCHAR(64) NOT NULL, 
	alert_key VARCHAR(200) NOT NULL, 
	hazard VARCHAR(40) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	msg_type VARCHAR(10) NOT NULL, 
	area VARCHAR(200) NOT NULL, 
	sent DATETIME NOT NULL, 
	onset DATETIME NOT NULL, 
	expires DATETIME NOT NULL, 
	"references" TEXT NOT NULL, 
	agencies JSON NOT NULL, 
	cap_xml TEXT NOT NULL, 
	created DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (identifier)
);
CREATE INDEX ix_alerts_alert_key ON alerts (alert_key);
CREATE TABLE alert_withdrawals (
	id INTEGER NOT NULL, 
	identifier VARCHAR(64) NOT NULL, 
	alert_key VARCHAR(200) NOT NULL, 
	hazard VARCHAR(40) NOT NULL, 
	area VARCHAR(200) NOT NULL, 
	msg_type VARCHAR(10) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	sent DATETIME NOT NULL, 
	withdrawn_at DATETIME NOT NULL, 
	by_forecast VARCHAR(20) NOT NULL, 
	cap_xml TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_alert_withdrawals_identifier ON alert_withdrawals (identifier);
CREATE INDEX ix_alert_withdrawals_alert_key ON alert_withdrawals (alert_key);
CREATE TABLE forecast_runs (
	id INTEGER NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	path VARCHAR(1000) NOT NULL, 
	issued VARCHAR(40) NOT NULL, 
	messages INTEGER NOT NULL, 
	new_messages INTEGER NOT NULL, 
	withdrawn INTEGER NOT NULL, 
	processed_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (sha256)
);
CREATE TABLE check_results (
	id INTEGER NOT NULL, 
	submission_id INTEGER NOT NULL, 
	verdict VARCHAR(40) NOT NULL, 
	score FLOAT NOT NULL, 
	layer_versions JSON NOT NULL, 
	payload JSON NOT NULL, 
	created DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(submission_id) REFERENCES submissions (id)
);
CREATE TABLE outbox_messages (
	id INTEGER NOT NULL, 
	alert_id INTEGER NOT NULL, 
	identifier VARCHAR(64) NOT NULL, 
	agency VARCHAR(60) NOT NULL, 
	episode VARCHAR(200) NOT NULL, 
	due_at DATETIME NOT NULL, 
	expires DATETIME NOT NULL, 
	planned BOOLEAN NOT NULL, 
	created DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_message UNIQUE (identifier, agency), 
	FOREIGN KEY(alert_id) REFERENCES alerts (id)
);
CREATE INDEX ix_outbox_messages_agency ON outbox_messages (agency);
CREATE INDEX ix_outbox_messages_episode ON outbox_messages (episode);
CREATE INDEX ix_outbox_messages_alert_id ON outbox_messages (alert_id);
CREATE TABLE outbox_deliveries (
	id INTEGER NOT NULL, 
	outbox_id INTEGER NOT NULL, 
	channel VARCHAR(10) NOT NULL, 
	target VARCHAR(1000) NOT NULL, 
	state VARCHAR(10) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	lease_until DATETIME, 
	lease_owner VARCHAR(40), 
	last_status INTEGER, 
	last_error TEXT NOT NULL, 
	delivered_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_outbox_delivery UNIQUE (outbox_id, channel), 
	FOREIGN KEY(outbox_id) REFERENCES outbox_messages (id)
);
CREATE INDEX ix_outbox_deliveries_outbox_id ON outbox_deliveries (outbox_id);
CREATE INDEX ix_outbox_deliveries_next_attempt_at ON outbox_deliveries (next_attempt_at);
CREATE INDEX ix_outbox_deliveries_state ON outbox_deliveries (state);
CREATE TABLE outbox_attempts (
	id INTEGER NOT NULL, 
	delivery_id INTEGER NOT NULL, 
	number INTEGER NOT NULL, 
	worker VARCHAR(40) NOT NULL, 
	started DATETIME NOT NULL, 
	finished DATETIME, 
	outcome VARCHAR(10) NOT NULL, 
	http_status INTEGER, 
	error TEXT NOT NULL, 
	duration_ms FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(delivery_id) REFERENCES outbox_deliveries (id)
);
CREATE INDEX ix_outbox_attempts_delivery_id ON outbox_attempts (delivery_id);
