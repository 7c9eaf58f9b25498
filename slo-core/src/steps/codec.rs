//! The steps of every SLO as bytes: compact (8 bytes a value, two `f32`; 1 bit a
//! step's fetched flag), versioned, and read back without trusting a
//! length (a corrupt file is an error, never a panic or a huge
//! allocation).
//!
//! `SLOSTEPS`, the version byte, the number of stores, then per store its
//! name (the SLO's id) and fields; integers little-endian, strings as a
//! `u32` length and UTF-8.

use std::collections::{BTreeMap, VecDeque};

use super::{BUCKET_MS, Kept, PER_BUCKET, STEP_MS, Series, Store};
use crate::duration::Duration;
use crate::errors::StepsError;

const MAGIC: &[u8; 8] = b"SLOSTEPS";
/// 2: values as `f32` (1: `f64`).
const VERSION: u8 = 2;

/// Writes `stores` (by SLO id) as bytes.
pub fn encode(stores: &BTreeMap<String, Store>) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.0.push(VERSION);
    w.u32(stores.len());
    for (id, s) in stores {
        w.str(id);
        w.0.extend_from_slice(&s.key.to_le_bytes());
        w.u32(s.group_by.len());
        for l in &s.group_by {
            w.str(l);
        }
        w.u32(s.windows.len());
        for d in &s.windows {
            w.0.extend_from_slice(&d.as_millis().to_le_bytes());
        }
        w.0.extend_from_slice(&s.period.as_millis().to_le_bytes());
        w.0.extend_from_slice(&s.head.unwrap_or(i64::MIN).to_le_bytes());
        w.0.extend_from_slice(&s.boundary.to_le_bytes());
        w.u32(s.fetched.len());
        let mut bits = vec![0u8; s.fetched.len().div_ceil(8)];
        for (i, f) in s.fetched.iter().enumerate() {
            if *f {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        w.0.extend_from_slice(&bits);
        w.u32(s.masks.len());
        for m in &s.masks {
            w.0.extend_from_slice(&m.to_le_bytes());
        }
        w.u32(s.series.len());
        for (inst, series) in &s.series {
            w.u32(inst.len());
            for (k, v) in inst {
                w.str(k);
                w.str(v);
            }
            for v in series.fine.iter().chain(&series.coarse) {
                w.0.extend_from_slice(&v[0].to_le_bytes());
                w.0.extend_from_slice(&v[1].to_le_bytes());
            }
        }
    }
    w.0
}

/// Reads what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<BTreeMap<String, Store>, StepsError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len()).ok() != Some(&MAGIC[..]) {
        return Err(StepsError::NotSteps);
    }
    let version = r.take(1)?[0];
    if version != VERSION {
        return Err(StepsError::Version {
            found: version,
            expected: VERSION,
        });
    }
    let mut out = BTreeMap::new();
    for _ in 0..r.len(1)? {
        let id = r.str()?;
        let key = r.u64()?;
        let group_by = (0..r.len(4)?).map(|_| r.str()).collect::<Result<_, _>>()?;
        let windows = (0..r.len(8)?)
            .map(|_| r.u64().map(Duration::from_millis))
            .collect::<Result<_, _>>()?;
        let period = Duration::from_millis(r.u64()?);
        let mut s = Store::with_shape(key, group_by, windows, period);
        let head = r.u64()? as i64;
        s.head = (head != i64::MIN).then_some(head);
        s.boundary = r.u64()? as i64;
        let steps = r.len(0)?;
        let bits = r.take(steps.div_ceil(8))?;
        s.fetched = (0..steps)
            .map(|i| bits[i / 8] & (1 << (i % 8)) != 0)
            .collect();
        s.masks = (0..r.len(2)?)
            .map(|_| r.take(2).map(|b| u16::from_le_bytes([b[0], b[1]])))
            .collect::<Result<_, _>>()?;
        let consistent = match s.head {
            Some(h) => {
                h.rem_euclid(STEP_MS) == 0
                    && s.boundary.rem_euclid(BUCKET_MS) == 0
                    && h - s.boundary == steps as i64 * STEP_MS
                    && h - s.boundary <= s.keep_fine + BUCKET_MS
                    && s.masks.len() as i64 <= s.keep_span / BUCKET_MS + 2
            }
            None => steps == 0 && s.masks.is_empty(),
        };
        if !consistent {
            return Err(r.corrupt("the steps kept do not match the head"));
        }
        let per = steps + s.masks.len();
        for _ in 0..r.len(per.saturating_mul(8).max(4))? {
            let inst = (0..r.len(8)?)
                .map(|_| Ok((r.str()?, r.str()?)))
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            let mut series = Series {
                fine: VecDeque::with_capacity(steps + PER_BUCKET),
                coarse: VecDeque::with_capacity(s.masks.len() + 1),
            };
            for k in 0..per {
                let v: Kept = [r.f32()?, r.f32()?];
                if k < steps {
                    series.fine.push_back(v);
                } else {
                    series.coarse.push_back(v);
                }
            }
            s.series.insert(inst, series);
        }
        out.insert(id, s);
    }
    if r.at != bytes.len() {
        return Err(r.corrupt("bytes after the last store"));
    }
    Ok(out)
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, what: &str) -> StepsError {
        StepsError::Corrupt {
            at: self.at,
            what: what.to_owned(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StepsError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| self.corrupt("cut short"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, StepsError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn f32(&mut self) -> Result<f32, StepsError> {
        let b = self.take(4)?;
        Ok(f32::from_bits(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    }

    /// A count of items of at least `min` bytes each: never more than the
    /// bytes left could hold.
    fn len(&mut self, min: usize) -> Result<usize, StepsError> {
        let b = self.take(4)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let left = self.bytes.len() - self.at;
        if min > 0 && n > left / min {
            return Err(self.corrupt("a count larger than the file"));
        }
        Ok(n)
    }

    fn str(&mut self) -> Result<String, StepsError> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| self.corrupt("a name that is not UTF-8"))
    }
}
