//! AWS Budgets.

use serde::Serialize;

use crate::cfn::resource;

/// `AWS::Budgets::Budget`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Budget {
    pub budget: BudgetData,
    pub notifications_with_subscribers: Vec<NotificationWithSubscribers>,
}
resource!(Budget, "AWS::Budgets::Budget" {});

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BudgetData {
    pub budget_name: String,
    pub budget_type: &'static str,
    pub time_unit: &'static str,
    pub budget_limit: Spend,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Spend {
    pub amount: f64,
    pub unit: &'static str,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationWithSubscribers {
    pub notification: Notification,
    pub subscribers: Vec<Subscriber>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    pub notification_type: &'static str,
    pub comparison_operator: &'static str,
    pub threshold: f64,
    pub threshold_type: &'static str,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscriber {
    pub subscription_type: &'static str,
    pub address: String,
}
