"""IVR robocalls: uploaded audio files, and the cached OCA IVR list and caller ids."""

STEPS = [
    """CREATE TABLE audio_file (
        id {pk},
        name VARCHAR(200) NOT NULL,
        stored_name VARCHAR(64) NOT NULL,
        size_bytes INTEGER NOT NULL,
        duration_seconds DOUBLE PRECISION NOT NULL,
        bitrate_kbps INTEGER NOT NULL,
        sample_rate INTEGER NOT NULL,
        oca_id VARCHAR(64) NOT NULL,
        oca_url TEXT NOT NULL,
        uploaded_by INTEGER,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE UNIQUE INDEX audio_file_stored_name ON audio_file (stored_name)",
    """CREATE TABLE oca_ivr (
        id {pk},
        ivr_id VARCHAR(64) NOT NULL,
        name VARCHAR(200) NOT NULL,
        required_variables TEXT NOT NULL,
        created_at TIMESTAMP,
        fetched_at TIMESTAMP NOT NULL
    )""",
    "CREATE UNIQUE INDEX oca_ivr_ivr_id ON oca_ivr (ivr_id)",
    """CREATE TABLE oca_number (
        id {pk},
        number VARCHAR(32) NOT NULL,
        fetched_at TIMESTAMP NOT NULL
    )""",
    "CREATE UNIQUE INDEX oca_number_number ON oca_number (number)",
]
