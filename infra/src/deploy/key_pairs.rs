//! Envelope mode's key pairs (`token_function::key_pairs`): `infra` keeps the key pair secret
//! in step with the signing key stage. Every slot the stage publishes has a key pair, generated
//! with KMS `GenerateDataKeyPairWithoutPlaintext` under the environment's symmetric key (so no
//! private key is ever seen here), and a slot the stage no longer publishes loses its pair once
//! the stage is deployed, so that the next rotation into it generates a fresh one.
//!
//! `deploy` calls [`KeyPairs::sync`] before a change set that publishes a new slot (add only: the
//! function reads the pair as soon as the new stage reaches it) and after every service stack
//! update (add and retire): a stack just created gets its first pair before the smoke check.

use std::collections::BTreeMap;

use aws_sdk_kms::types::DataKeyPairSpec;
use token_function::jwt::Algorithm;
use token_function::key_pairs::{KeyPairsDocument, Slot, StoredKeyPair, encryption_context};

use super::registry::{KeyPairsSecret, RegistryError};
use crate::keys::Stage;

/// What a sync does to a document: slots to generate a pair for, and slots whose pair goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub generate: Vec<Slot>,
    pub retire: Vec<Slot>,
}

/// The changes that bring `doc` to `stage`: a pair for each slot the stage publishes, and
/// (with `retire`) none for the others.
pub fn changes(doc: &KeyPairsDocument, stage: Stage, retire: bool) -> Changes {
    let has = |slot: &Slot| doc.key_pairs.contains_key(slot);
    Changes {
        generate: Slot::ALL.into_iter().filter(|s| stage.has(*s) && !has(s)).collect(),
        retire: Slot::ALL.into_iter().filter(|s| retire && !stage.has(*s) && has(s)).collect(),
    }
}

/// Applies `changes` with the `generated` pairs; a slot another writer filled meanwhile keeps
/// its pair. Returns the slots changed.
pub fn apply(doc: &mut KeyPairsDocument, changes: &Changes, generated: &BTreeMap<Slot, StoredKeyPair>) -> Vec<Slot> {
    let mut changed = Vec::new();
    for (slot, pair) in generated {
        if changes.generate.contains(slot) && !doc.key_pairs.contains_key(slot) {
            doc.key_pairs.insert(*slot, pair.clone());
            changed.push(*slot);
        }
    }
    for slot in &changes.retire {
        if doc.key_pairs.remove(slot).is_some() {
            changed.push(*slot);
        }
    }
    changed
}

#[derive(Debug, thiserror::Error)]
pub enum KeyPairsError {
    #[error(transparent)]
    Secret(#[from] RegistryError),
    #[error("GenerateDataKeyPairWithoutPlaintext under {key}: {message}")]
    Generate { key: String, message: String },
}

/// The key pairs of one deployed environment.
#[derive(Debug)]
pub struct KeyPairs {
    pub secret: KeyPairsSecret,
    pub kms: aws_sdk_kms::Client,
    /// The symmetric key the private keys are encrypted under.
    pub key_encryption_key: String,
    /// The service's qualified name: the encryption context the function decrypts under.
    pub service: String,
    pub algorithm: Algorithm,
}

impl KeyPairs {
    /// Brings the secret to `stage` (see [`changes`]); `now` is Unix seconds. Returns one line
    /// per slot changed, and the algorithm of the stage's signing pair.
    pub async fn sync(&self, stage: Stage, retire: bool, now: u64) -> Result<(Vec<String>, Algorithm), KeyPairsError> {
        let read = self.secret.read().await?;
        let wanted = changes(&read.doc, stage, retire);
        let signing_algorithm =
            |doc: &KeyPairsDocument| doc.key_pairs.get(&stage.signing()).map_or(self.algorithm, |p| p.algorithm);
        if wanted == Changes::default() {
            return Ok((Vec::new(), signing_algorithm(&read.doc)));
        }
        let mut generated = BTreeMap::new();
        for slot in &wanted.generate {
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

    /// Every stage, from every document, with and without retiring: what is generated and what
    /// goes.
    #[test]
    fn syncs_follow_the_stage() {
        use Slot::{A, B};
        let none: &[Slot] = &[];
        /// (pairs held, stage, retire, slots generated, slots retired)
        type Row<'a> = (&'a [Slot], Stage, bool, &'a [Slot], &'a [Slot]);
        let rows: [Row; 12] = [
            // A new stack: its first pair.
            (none, Stage::A, true, &[A], none),
            (&[A], Stage::A, true, none, none),
            // Before the publish step's change set: add B, keep A.
            (&[A], Stage::APublishB, false, &[B], none),
            (&[A, B], Stage::APublishB, true, none, none),
            (&[A, B], Stage::BSignsAPublished, true, none, none),
            // The drop step: before it nothing goes, after it A's pair does.
            (&[A, B], Stage::B, false, none, none),
            (&[A, B], Stage::B, true, none, &[A]),
            // The next rotation generates a fresh A.
            (&[B], Stage::BPublishA, false, &[A], none),
            (&[A, B], Stage::ASignsBPublished, true, none, none),
            (&[A, B], Stage::A, true, none, &[B]),
            // A hand-emptied document heals.
            (none, Stage::APublishB, true, &[A, B], none),
            (&[B], Stage::A, true, &[A], &[B]),
        ];
        for (have, stage, retire, generate, gone) in rows {
            let got = changes(&doc(have), stage, retire);
            assert_eq!(
                got,
                Changes { generate: generate.to_vec(), retire: gone.to_vec() },
                "{have:?} {stage} {retire}"
            );
        }
    }

    #[test]
    fn a_slot_filled_meanwhile_keeps_its_pair() {
        let wanted = Changes { generate: vec![Slot::B], retire: vec![Slot::A] };
        let generated = BTreeMap::from([(Slot::B, pair(2))]);
        let mut d = doc(&[Slot::A]);
        assert_eq!(apply(&mut d, &wanted, &generated), [Slot::B, Slot::A]);
        assert_eq!(d.key_pairs, BTreeMap::from([(Slot::B, pair(2))]));
        let mut raced = KeyPairsDocument { key_pairs: BTreeMap::from([(Slot::B, pair(3))]) };
        assert_eq!(apply(&mut raced, &wanted, &generated), Vec::<Slot>::new());
        assert_eq!(raced.key_pairs[&Slot::B].created, 3, "the other writer's pair stays");
    }
}
