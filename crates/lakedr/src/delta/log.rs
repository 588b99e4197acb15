//! Names of the files in `_delta_log/`, parsed into [`LogFile`] without I/O.

/// The shape of a checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckpointKind {
    /// `<v>.checkpoint.parquet`
    Classic,
    /// `<v>.checkpoint.<part>.<parts>.parquet`
    MultiPart { part: u32, parts: u32 },
    /// `<v>.checkpoint.<uuid>.json|parquet` (V2, may reference sidecars)
    Uuid { json: bool },
}

/// What a file under `_delta_log/` is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogFile {
    /// `<v>.json`: the commit of version `v`, the unit of atomicity.
    Commit(u64),
    /// `<v>.crc`: version checksum, written after the commit.
    Crc(u64),
    /// A checkpoint (or one part of one) of version `version`.
    Checkpoint { version: u64, kind: CheckpointKind },
    /// `<x>.<y>.compacted.json`: reconciled actions of commits `x..=y`.
    Compacted { start: u64, end: u64 },
    /// `_last_checkpoint`: the only mutable file, a hint to the latest checkpoint.
    LastCheckpoint,
    /// `_sidecars/<name>.parquet`: add/remove actions of a V2 checkpoint.
    Sidecar,
    /// Never part of a table snapshot and never published: `.tmp/`, `_staged_commits/`,
    /// `_commits/` (catalog-managed proposals), `__tmp*`.
    Temporary,
    /// Anything else (Hadoop `.x.crc` siblings, `_autostats/`, vendor markers): copied as a
    /// plain object, never interpreted.
    Unknown,
}

fn version(s: &str) -> Option<u64> {
    (s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl LogFile {
    /// Classifies `name`, the path of a file relative to `_delta_log/`.
    pub fn parse(name: &str) -> LogFile {
        if name == "_last_checkpoint" {
            return LogFile::LastCheckpoint;
        }
        if let Some(rest) = name.strip_prefix("_sidecars/") {
            return if !rest.contains('/') && rest.ends_with(".parquet") {
                LogFile::Sidecar
            } else {
                LogFile::Unknown
            };
        }
        let first = name.split('/').next().unwrap_or(name);
        if matches!(
            first,
            ".tmp" | "_staged_commits" | "_commits" | "_temporary"
        ) || first.starts_with("__tmp")
            || first.starts_with(".tmp")
        {
            return LogFile::Temporary;
        }
        if name.contains('/') {
            return LogFile::Unknown;
        }
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [v, "json"] => version(v).map_or(LogFile::Unknown, LogFile::Commit),
            [v, "crc"] => version(v).map_or(LogFile::Unknown, LogFile::Crc),
            [x, y, "compacted", "json"] => match (version(x), version(y)) {
                (Some(start), Some(end)) if start < end => LogFile::Compacted { start, end },
                _ => LogFile::Unknown,
            },
            [v, "checkpoint", "parquet"] => {
                version(v).map_or(LogFile::Unknown, |version| LogFile::Checkpoint {
                    version,
                    kind: CheckpointKind::Classic,
                })
            }
            [v, "checkpoint", p, n, "parquet"]
                if p.len() == 10
                    && n.len() == 10
                    && p.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit()) =>
            {
                match (version(v), p.parse::<u32>(), n.parse::<u32>()) {
                    (Some(version), Ok(part), Ok(parts))
                        if part >= 1 && part <= parts && parts > 1 =>
                    {
                        LogFile::Checkpoint {
                            version,
                            kind: CheckpointKind::MultiPart { part, parts },
                        }
                    }
                    _ => LogFile::Unknown,
                }
            }
            [v, "checkpoint", uuid, ext @ ("json" | "parquet")] if !uuid.is_empty() => version(v)
                .map_or(LogFile::Unknown, |version| LogFile::Checkpoint {
                    version,
                    kind: CheckpointKind::Uuid {
                        json: *ext == "json",
                    },
                }),
            _ => LogFile::Unknown,
        }
    }

    /// The table version this file belongs to (the end version for compactions).
    pub fn version(&self) -> Option<u64> {
        match self {
            LogFile::Commit(v) | LogFile::Crc(v) => Some(*v),
            LogFile::Checkpoint { version, .. } => Some(*version),
            LogFile::Compacted { end, .. } => Some(*end),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_kind() {
        use CheckpointKind::*;
        let cases = [
            ("00000000000000000007.json", LogFile::Commit(7)),
            ("00000000000000000007.crc", LogFile::Crc(7)),
            (
                "00000000000000000010.checkpoint.parquet",
                LogFile::Checkpoint {
                    version: 10,
                    kind: Classic,
                },
            ),
            (
                "00000000000000000001.checkpoint.0000000002.0000000002.parquet",
                LogFile::Checkpoint {
                    version: 1,
                    kind: MultiPart { part: 2, parts: 2 },
                },
            ),
            (
                "00000000000000000002.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
                LogFile::Checkpoint {
                    version: 2,
                    kind: Uuid { json: true },
                },
            ),
            (
                "00000000000000000006.00000000000000000015.compacted.json",
                LogFile::Compacted { start: 6, end: 15 },
            ),
            ("_last_checkpoint", LogFile::LastCheckpoint),
            (
                "_sidecars/00000000000000000002.checkpoint.0000000001.0000000002.abc.parquet",
                LogFile::Sidecar,
            ),
            (".tmp/00000000000000000005.json", LogFile::Temporary),
            (
                "_staged_commits/00000000000000000001.3a0d.json",
                LogFile::Temporary,
            ),
            (
                "_commits/00000000000000000001.3a0d.json",
                LogFile::Temporary,
            ),
            (".00000000000000000000.json.crc", LogFile::Unknown),
            ("0000000000000000007.json", LogFile::Unknown),
            ("00000000000000000007.json.tmp", LogFile::Unknown),
            (
                "00000000000000000015.00000000000000000006.compacted.json",
                LogFile::Unknown,
            ),
            (
                "00000000000000000001.checkpoint.0000000003.0000000002.parquet",
                LogFile::Unknown,
            ),
            ("_autostats/x", LogFile::Unknown),
        ];
        for (name, want) in cases {
            assert_eq!(LogFile::parse(name), want, "{name}");
        }
    }
}
