#![warn(missing_docs)]
//! `infra`: turns typed stack definitions plus one YAML file per environment into validated
//! CloudFormation templates. Data flows one way: environment → stacks → validate → synth.

pub mod alarms;
pub mod api_routes;
pub mod cfn;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod deploy;
pub mod env;
pub mod keys;
pub mod local;
pub mod public_ip;
pub mod runbook;
pub mod session;
pub mod stacks;
pub mod synth;
pub mod validate;
pub mod yaml_keys;
