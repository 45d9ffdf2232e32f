-- Change feed between maillon instances sharing one database: every audit
-- entry (one per registry change) is announced on maillon_changes, and
-- NOTIFY is transactional, so only committed changes are announced.
CREATE FUNCTION maillon_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('maillon_changes', json_build_object(
        'seq', NEW.id, 'entity', NEW.entity, 'id', NEW.entity_id, 'action', NEW.action)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_notify AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION maillon_notify_change();
