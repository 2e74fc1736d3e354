CREATE TABLE IF NOT EXISTS bookmarks (id INTEGER PRIMARY KEY, path TEXT NOT NULL, line INTEGER, note TEXT);
CREATE INDEX IF NOT EXISTS bookmarks_path ON bookmarks(path);
