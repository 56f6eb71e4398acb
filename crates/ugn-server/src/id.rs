/// Names one connection for as long as it lives.
///
/// The low bits index the server's connection table, the high bits are the slot's generation,
/// so an id that outlives its connection (the application answers a client that has gone) is
/// recognised as stale instead of reaching whoever took the slot next. Ids stay below 2^31 so
/// JavaScript can carry them in an `Int32Array`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId(u32);

const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u32 = (1 << (31 - INDEX_BITS)) - 1;

/// Largest number of connection slots an id can address.
pub const MAX_SLOTS: usize = 1 << INDEX_BITS;

impl ConnId {
    pub(crate) fn new(index: usize, generation: u32) -> ConnId {
        debug_assert!(index < MAX_SLOTS);
        ConnId(((generation & GENERATION_MASK) << INDEX_BITS) | index as u32)
    }

    pub(crate) fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }

    pub(crate) fn generation(self) -> u32 {
        self.0 >> INDEX_BITS
    }

    pub(crate) fn next_generation(generation: u32) -> u32 {
        (generation + 1) & GENERATION_MASK
    }

    pub fn from_raw(raw: u32) -> ConnId {
        ConnId(raw)
    }

    pub fn raw(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_index_and_generation() {
        let id = ConnId::new(12345, 7);
        assert_eq!(id.index(), 12345);
        assert_eq!(id.generation(), 7);
        assert_eq!(ConnId::from_raw(id.raw()), id);
    }

    #[test]
    fn stays_positive_as_int32_when_generation_wraps() {
        let last = GENERATION_MASK;
        let id = ConnId::new(MAX_SLOTS - 1, last);
        assert!(id.raw() <= i32::MAX as u32);
        assert_eq!(ConnId::next_generation(last), 0);
    }
}
