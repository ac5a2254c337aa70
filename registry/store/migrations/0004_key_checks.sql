-- A check value per key of the key file (crypto.Keyring.check_values): the registry refuses a
-- key file whose keys do not match the store's, before it uses any (issue 20: a key file with
-- one bit flipped used to be accepted, and the workers written with it could never be read).
CREATE TABLE key_checks (
    name VARCHAR PRIMARY KEY,
    check_value VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
