//! Amazon SNS.

use serde::Serialize;

use crate::cfn::policy::PolicyDocument;
use crate::cfn::{Value, resource};

/// `AWS::SNS::Topic`. `Ref` returns the topic ARN.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Topic {
    /// `TopicName`: up to 256 letters, digits, `-` and `_`; a change replaces the topic.
    pub topic_name: String,
    /// `DisplayName`: the sender name of SMS messages; up to 100 characters.
    pub display_name: String,
    /// A customer-managed key: CloudWatch cannot publish to topics under `alias/aws/sns`.
    pub kms_master_key_id: Value<String>,
}
resource!(Topic, "AWS::SNS::Topic" { topic_arn => "TopicArn", topic_name => "TopicName" });

/// `AWS::SNS::TopicPolicy`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicPolicy {
    /// `PolicyDocument`: who may publish to, or subscribe to, the topics.
    pub policy_document: PolicyDocument,
    /// `Topics`: ARNs of the topics the policy applies to.
    pub topics: Vec<Value<String>>,
}
resource!(TopicPolicy, "AWS::SNS::TopicPolicy" {});

/// `AWS::SNS::Subscription`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscription {
    /// `TopicArn`: the ARN of the topic.
    pub topic_arn: Value<String>,
    /// `Protocol`: `email`, `email-json`, `http`, `https`, `sqs`, `sms`, `lambda`, `firehose` or
    /// `application`.
    pub protocol: &'static str,
    /// `Endpoint`: where messages go, as `Protocol` requires: an email address, a URL, an ARN, ...
    pub endpoint: String,
}
resource!(Subscription, "AWS::SNS::Subscription" {});
