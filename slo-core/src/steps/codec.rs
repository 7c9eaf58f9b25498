//! The steps of every SLO as bytes: compact (8 bytes a value, two `f32`; 1 bit a
//! step's fetched flag), versioned, and read back without trusting a
//! length (a corrupt file is an error, never a panic or a huge
//! allocation).
//!
//! `SLOSTEPS`, the version byte, the number of stores, then per store its
//! name (the SLO's id) and fields; integers little-endian, strings as a
//! `u32` length and UTF-8.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};

use super::{BUCKET_MS, Kept, PER_BUCKET, STEP_MS, Series, Store};
use crate::duration::Duration;
use crate::errors::StepsError;

const MAGIC: &[u8; 8] = b"SLOSTEPS";
/// 2: values as `f32` (1: `f64`).
const VERSION: u8 = 2;

/// Writes `stores` (by SLO id) to `out`, store by store: a daemon saves
/// megabytes of steps every cycle, and a buffer of them all would double
/// its memory at each save.
pub fn encode(stores: &BTreeMap<String, Store>, out: &mut impl Write) -> io::Result<()> {
    let mut w = Writer(out);
    w.bytes(MAGIC)?;
    w.bytes(&[VERSION])?;
    w.u32(stores.len())?;
    for (id, s) in stores {
        w.str(id)?;
        w.bytes(&s.key.to_le_bytes())?;
        w.u32(s.group_by.len())?;
        for l in &s.group_by {
            w.str(l)?;
        }
        w.u32(s.windows.len())?;
        for d in &s.windows {
            w.bytes(&d.as_millis().to_le_bytes())?;
        }
        w.bytes(&s.period.as_millis().to_le_bytes())?;
        w.bytes(&s.head.unwrap_or(i64::MIN).to_le_bytes())?;
        w.bytes(&s.boundary.to_le_bytes())?;
        w.u32(s.fetched.len())?;
        let mut bits = vec![0u8; s.fetched.len().div_ceil(8)];
        for (i, f) in s.fetched.iter().enumerate() {
            if *f {
                bits[i / 8] |= 1 << (i % 8);
            }
        }
        w.bytes(&bits)?;
        w.u32(s.masks.len())?;
        for m in &s.masks {
            w.bytes(&m.to_le_bytes())?;
        }
        w.u32(s.series.len())?;
        for (inst, series) in &s.series {
            w.u32(inst.len())?;
            for (k, v) in inst {
                w.str(k)?;
                w.str(v)?;
            }
            for v in series.fine.iter().chain(&series.coarse) {
                w.bytes(&v[0].to_le_bytes())?;
                w.bytes(&v[1].to_le_bytes())?;
            }
        }
    }
    Ok(())
}

/// Reads what [`encode`] wrote from `input`, which holds `len` bytes (a
/// file's length): no count may claim more items than those bytes hold,
/// so a corrupt file is an error, never a huge allocation.
pub fn decode(input: impl Read, len: u64) -> Result<BTreeMap<String, Store>, StepsError> {
    let mut r = Reader {
        input,
        at: 0,
        left: len,
    };
    if r.array::<8>().ok().as_ref() != Some(MAGIC) {
        return Err(StepsError::NotSteps);
    }
    let [version] = r.array::<1>()?;
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
        let bits = r.vec(steps.div_ceil(8))?;
        s.fetched = (0..steps)
            .map(|i| bits[i / 8] & (1 << (i % 8)) != 0)
            .collect();
        s.masks = (0..r.len(2)?)
            .map(|_| r.array().map(u16::from_le_bytes))
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
    if r.left != 0 || r.input.read(&mut [0]).map_or(true, |n| n != 0) {
        return Err(r.corrupt("bytes after the last store"));
    }
    Ok(out)
}

struct Writer<'a, W>(&'a mut W);

impl<W: Write> Writer<'_, W> {
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.0.write_all(b)
    }

    fn u32(&mut self, n: usize) -> io::Result<()> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.bytes(&n.to_le_bytes())
    }

    fn str(&mut self, s: &str) -> io::Result<()> {
        self.u32(s.len())?;
        self.bytes(s.as_bytes())
    }
}

struct Reader<R> {
    input: R,
    /// Bytes read so far.
    at: usize,
    /// Bytes the input holds after them.
    left: u64,
}

impl<R: Read> Reader<R> {
    fn corrupt(&self, what: &str) -> StepsError {
        StepsError::Corrupt {
            at: self.at,
            what: what.to_owned(),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), StepsError> {
        if buf.len() as u64 > self.left {
            return Err(self.corrupt("cut short"));
        }
        match self.input.read_exact(buf) {
            Ok(()) => {
                self.at += buf.len();
                self.left -= buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(self.corrupt("cut short")),
            Err(e) => Err(StepsError::Read {
                at: self.at,
                reason: e.to_string(),
            }),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StepsError> {
        let mut a = [0u8; N];
        self.fill(&mut a)?;
        Ok(a)
    }

    /// `n` bytes, `n` already bounded by a [`Reader::len`].
    fn vec(&mut self, n: usize) -> Result<Vec<u8>, StepsError> {
        let mut v = vec![0u8; n];
        self.fill(&mut v)?;
        Ok(v)
    }

    fn u64(&mut self) -> Result<u64, StepsError> {
        self.array().map(u64::from_le_bytes)
    }

    fn f32(&mut self) -> Result<f32, StepsError> {
        self.array().map(|b| f32::from_bits(u32::from_le_bytes(b)))
    }

    /// A count of items of at least `min` bytes each: never more than the
    /// bytes left could hold.
    fn len(&mut self, min: usize) -> Result<usize, StepsError> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        if min > 0 && n as u64 > self.left / min as u64 {
            return Err(self.corrupt("a count larger than the file"));
        }
        Ok(n)
    }

    fn str(&mut self) -> Result<String, StepsError> {
        let n = self.len(1)?;
        let b = self.vec(n)?;
        String::from_utf8(b).map_err(|_| self.corrupt("a name that is not UTF-8"))
    }
}
