//! Amazon SNS.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::SNS::Topic`. `Ref` returns the topic ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    pub topic_name: String,
    pub display_name: String,
    /// A customer-managed key: CloudWatch cannot publish to topics under `alias/aws/sns`.
    pub kms_master_key_id: Value<String>,
}
resource!(Topic, "AWS::SNS::Topic" { topic_arn => "TopicArn", topic_name => "TopicName" });

/// `AWS::SNS::TopicPolicy`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicPolicy {
    pub policy_document: PolicyDocument,
    pub topics: Vec<Value<String>>,
}
resource!(TopicPolicy, "AWS::SNS::TopicPolicy" {});

/// `AWS::SNS::Subscription`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    pub topic_arn: Value<String>,
    pub protocol: &'static str,
    pub endpoint: String,
}
resource!(Subscription, "AWS::SNS::Subscription" {});
