"""tito: the course command line. Commands are thin; the logic lives in importable modules."""
