//! Envelope mode's key pairs (`token_function::key_pairs`): `infra` keeps the key pair secret
//! in step with the signing key stage. Every slot the stage publishes has a key pair, generated
//! with KMS `GenerateDataKeyPairWithoutPlaintext` under the environment's symmetric key (so no
//! private key is ever seen here), and a slot the stage no longer publishes loses its pair once
//! the stage is deployed, so that the next rotation into it generates a fresh one.
//!
//! `deploy` calls [`KeyPairs::sync`] before a change set (from the deployed stage to the target:
//! a slot the target publishes gets its pair before the function looks for it), and after every
//! service stack update or no-change deploy (the stage as deployed: a stack just created gets its
//! first pair before the smoke check; a slot no longer published loses its pair).

use std::collections::BTreeMap;

use aws_sdk_kms::types::DataKeyPairSpec;
use token_function::jwt::Algorithm;
use token_function::key_pairs::{KeyPairsDocument, Slot, StoredKeyPair, encryption_context};

use super::registry::{KeyPairsSecret, RegistryError};
use crate::keys::Stage;

/// What a sync does to a document: slots to generate a pair for (with the pair they must still
/// hold for the new one to replace it: `None`, or a stale pair), and slots whose pair goes (with
/// that pair). Each is applied only if the slot still holds what was read, so a writer never
/// undoes another's newer pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Slots to generate a pair for, each with the pair it must still hold (`None`, or a stale
    /// one).
    pub generate: Vec<(Slot, Option<StoredKeyPair>)>,
    /// Slots whose pair goes, each with that pair.
    pub retire: Vec<(Slot, StoredKeyPair)>,
}

/// The changes that bring `doc` from the deployed stage `from` to `to` (`from == to` once a
/// stage is deployed). A pair is current when its slot is published in `from`: verifiers may
/// hold it. Every slot `to` publishes gets a current pair (a missing or stale one is generated);
/// a pair goes when neither stage publishes its slot, so the next rotation into that slot gets a
/// fresh key, never an old one back.
pub fn changes(doc: &KeyPairsDocument, from: Stage, to: Stage) -> Changes {
    let mut out = Changes::default();
    for slot in Slot::ALL {
        let present = doc.key_pairs.get(&slot);
        let current = present.is_some() && from.has(slot);
        if to.has(slot) && !current {
            out.generate.push((slot, present.cloned()));
        } else if let Some(pair) = present.filter(|_| !to.has(slot) && !from.has(slot)) {
            out.retire.push((slot, pair.clone()));
        }
    }
    out
}

/// Applies `changes` with the `generated` pairs, slot by slot where the slot still holds what
/// was read. Returns the slots changed.
pub fn apply(doc: &mut KeyPairsDocument, changes: &Changes, generated: &BTreeMap<Slot, StoredKeyPair>) -> Vec<Slot> {
    let mut changed = Vec::new();
    for (slot, before) in &changes.generate {
        if let Some(pair) = generated.get(slot)
            && doc.key_pairs.get(slot) == before.as_ref()
        {
            doc.key_pairs.insert(*slot, pair.clone());
            changed.push(*slot);
        }
    }
    for (slot, before) in &changes.retire {
        if doc.key_pairs.get(slot) == Some(before) {
            doc.key_pairs.remove(slot);
            changed.push(*slot);
        }
    }
    changed
}

/// Why the key pair secret could not be brought to a stage.
#[derive(Debug, thiserror::Error)]
pub enum KeyPairsError {
    /// Reading or writing the key pair secret failed.
    #[error(transparent)]
    Secret(#[from] RegistryError),
    /// KMS `GenerateDataKeyPairWithoutPlaintext` under `key` failed or gave no usable key pair;
    /// `message` says why.
    #[error("GenerateDataKeyPairWithoutPlaintext under {key}: {message}")]
    Generate {
        /// The KMS key the pair is encrypted under (ARN).
        key: String,
        /// The KMS error.
        message: String,
    },
}

/// The key pairs of one deployed environment.
#[derive(Debug)]
pub struct KeyPairs {
    /// The key pair secret.
    pub secret: KeyPairsSecret,
    /// KMS, which generates the key pairs (`GenerateDataKeyPairWithoutPlaintext`).
    pub kms: aws_sdk_kms::Client,
    /// The symmetric key the private keys are encrypted under.
    pub key_encryption_key: String,
    /// The service's qualified name: the encryption context the function decrypts under.
    pub service: String,
    /// What new pairs sign with: the environment file's `signing_key.algorithm`.
    pub algorithm: Algorithm,
}

impl KeyPairs {
    /// Brings the secret from the deployed stage `from` to `to` (see [`changes`]); `now` is Unix
    /// seconds. Returns one line per slot changed, and the algorithm of `to`'s signing pair.
    pub async fn sync(&self, from: Stage, to: Stage, now: u64) -> Result<(Vec<String>, Algorithm), KeyPairsError> {
        let read = self.secret.read().await?;
        let wanted = changes(&read.doc, from, to);
        let signing_algorithm =
            |doc: &KeyPairsDocument| doc.key_pairs.get(&to.signing()).map_or(self.algorithm, |p| p.algorithm);
        if wanted == Changes::default() {
            return Ok((Vec::new(), signing_algorithm(&read.doc)));
        }
        let mut generated = BTreeMap::new();
        for (slot, _) in &wanted.generate {
            generated.insert(*slot, self.generate(*slot, now).await?);
        }
        let (changed, algorithm) = self
            .secret
            .update(|doc| {
                let changed = apply(doc, &wanted, &generated);
                Ok::<_, std::convert::Infallible>((changed, signing_algorithm(doc)))
            })
            .await?;
        let lines = changed
            .into_iter()
            .map(|slot| match generated.get(&slot) {
                Some(pair) => format!(
                    "signing key slot {}: new {} key pair generated under {}",
                    slot.as_str(),
                    pair.algorithm.name(),
                    self.key_encryption_key
                ),
                None => format!("signing key slot {}: key pair retired (no longer published)", slot.as_str()),
            })
            .collect();
        Ok((lines, algorithm))
    }

    /// One key pair from KMS, its private key encrypted under the slot's context.
    async fn generate(&self, slot: Slot, now: u64) -> Result<StoredKeyPair, KeyPairsError> {
        let spec = match self.algorithm {
            Algorithm::ES256 => DataKeyPairSpec::EccNistP256,
            Algorithm::RS256 => DataKeyPairSpec::Rsa2048,
        };
        let mut call =
            self.kms.generate_data_key_pair_without_plaintext().key_id(&self.key_encryption_key).key_pair_spec(spec);
        for (k, v) in encryption_context(&self.service, slot) {
            call = call.encryption_context(k, v);
        }
        let failed = |message: String| KeyPairsError::Generate { key: self.key_encryption_key.clone(), message };
        let out = call.send().await.map_err(|e| failed(super::stack::sdk_text(&e)))?;
        let (Some(public), Some(ciphertext)) = (out.public_key(), out.private_key_ciphertext_blob()) else {
            return Err(failed("the answer has no key pair".into()));
        };
        let pair = StoredKeyPair::new(self.algorithm, public.as_ref(), ciphertext.as_ref(), now);
        pair.public_jwk(slot).map_err(|e| failed(e.to_string()))?;
        Ok(pair)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(created: u64) -> StoredKeyPair {
        StoredKeyPair {
            algorithm: Algorithm::ES256,
            public_key: String::new(),
            private_key_ciphertext: String::new(),
            created,
        }
    }

    fn doc(slots: &[Slot]) -> KeyPairsDocument {
        KeyPairsDocument { key_pairs: slots.iter().map(|s| (*s, pair(1))).collect() }
    }

    /// Every step of a rotation, before (from the deployed stage to the target) and after (the
    /// target deployed), from clean and from broken documents: what is generated and what goes.
    #[test]
    fn syncs_follow_the_stage() {
        use Slot::{A, B};
        use Stage::{APublishB, ASignsBPublished, BPublishA, BSignsAPublished};
        let none: &[Slot] = &[];
        /// (pairs held, deployed stage, target stage, slots generated, slots retired)
        type Row<'a> = (&'a [Slot], Stage, Stage, &'a [Slot], &'a [Slot]);
        let rows: [Row; 16] = [
            // A new stack, after its create: its first pair.
            (none, Stage::A, Stage::A, &[A], none),
            (&[A], Stage::A, Stage::A, none, none),
            // Step 1, before its change set: B's pair, A kept; after it, nothing.
            (&[A], Stage::A, APublishB, &[B], none),
            (&[A, B], APublishB, APublishB, none, none),
            (&[A, B], APublishB, BSignsAPublished, none, none),
            // Step 3: before it nothing goes (the function still publishes A); after it A's does.
            (&[A, B], BSignsAPublished, Stage::B, none, none),
            (&[A, B], Stage::B, Stage::B, none, &[A]),
            // The next rotation generates a fresh A ...
            (&[B], Stage::B, BPublishA, &[A], none),
            // ... also when A's retirement never ran: the stale pair is replaced, never published.
            (&[A, B], Stage::B, BPublishA, &[A], none),
            (&[A, B], BPublishA, BPublishA, none, none),
            (&[A, B], BPublishA, ASignsBPublished, none, none),
            (&[A, B], ASignsBPublished, Stage::A, none, none),
            (&[A, B], Stage::A, Stage::A, none, &[B]),
            // Hand-emptied or half-written documents heal.
            (none, APublishB, APublishB, &[A, B], none),
            (&[B], Stage::A, Stage::A, &[A], &[B]),
            (none, Stage::B, BPublishA, &[A, B], none),
        ];
        for (have, from, to, generate, gone) in rows {
            let got = changes(&doc(have), from, to);
            let generated: Vec<Slot> = got.generate.iter().map(|(s, _)| *s).collect();
            let retired: Vec<Slot> = got.retire.iter().map(|(s, _)| *s).collect();
            assert_eq!((generated, retired), (generate.to_vec(), gone.to_vec()), "{have:?} {from} -> {to}");
        }
    }

    #[test]
    fn a_slot_changed_meanwhile_keeps_its_pair() {
        let wanted = Changes { generate: vec![(Slot::B, None)], retire: vec![(Slot::A, pair(1))] };
        let generated = BTreeMap::from([(Slot::B, pair(2))]);
        let mut d = doc(&[Slot::A]);
        assert_eq!(apply(&mut d, &wanted, &generated), [Slot::B, Slot::A]);
        assert_eq!(d.key_pairs, BTreeMap::from([(Slot::B, pair(2))]));
        // Another writer filled B and renewed A after this read: both stay theirs.
        let mut raced = KeyPairsDocument { key_pairs: BTreeMap::from([(Slot::A, pair(4)), (Slot::B, pair(3))]) };
        assert_eq!(apply(&mut raced, &wanted, &generated), Vec::<Slot>::new());
        assert_eq!((raced.key_pairs[&Slot::A].created, raced.key_pairs[&Slot::B].created), (4, 3));
    }
}
