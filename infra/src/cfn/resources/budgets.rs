//! AWS Budgets.

use serde::Serialize;

use crate::cfn::resource;

/// `AWS::Budgets::Budget`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Budget {
    /// `Budget`: what the budget tracks, over what period, against what limit.
    pub budget: BudgetData,
    /// `NotificationsWithSubscribers`: when to notify, and whom.
    pub notifications_with_subscribers: Vec<NotificationWithSubscribers>,
}
resource!(Budget, "AWS::Budgets::Budget" {});

/// `BudgetData`: what a budget tracks, over what period, against what limit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BudgetData {
    /// `BudgetName`: the budget's name, unique within the account.
    pub budget_name: String,
    /// `BudgetType`: `COST`, `USAGE`, `RI_UTILIZATION`, `RI_COVERAGE`, `SAVINGS_PLANS_UTILIZATION`
    /// or `SAVINGS_PLANS_COVERAGE`.
    pub budget_type: &'static str,
    /// `TimeUnit`: the period the limit applies to and resets after: `DAILY`, `MONTHLY`,
    /// `QUARTERLY` or `ANNUALLY`.
    pub time_unit: &'static str,
    /// `BudgetLimit`: the cost or usage the budget allows per period.
    pub budget_limit: Spend,
}

/// `Spend`: an amount and its unit.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Spend {
    /// `Amount`: the cost or usage amount.
    pub amount: f64,
    /// `Unit`: a currency such as `USD` for cost budgets, or a usage unit such as `GB`.
    pub unit: &'static str,
}

/// `NotificationWithSubscribers`: a budget notification and who receives it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotificationWithSubscribers {
    /// `Notification`: when to notify.
    pub notification: Notification,
    /// `Subscribers`: who is notified; up to 10 email addresses and one SNS topic.
    pub subscribers: Vec<Subscriber>,
}

/// `Notification`: when a budget notifies its subscribers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    /// `NotificationType`: `ACTUAL` (spent so far) or `FORECASTED` (forecast for the period).
    pub notification_type: &'static str,
    /// `ComparisonOperator`: `GREATER_THAN`, `LESS_THAN` or `EQUAL_TO`.
    pub comparison_operator: &'static str,
    /// `Threshold`: a percentage of the budget limit, or an amount with `ThresholdType`
    /// `ABSOLUTE_VALUE`.
    pub threshold: f64,
    /// `ThresholdType`: `PERCENTAGE` (the default) or `ABSOLUTE_VALUE`.
    pub threshold_type: &'static str,
}

/// `Subscriber`: who receives a budget notification.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscriber {
    /// `SubscriptionType`: `EMAIL` or `SNS`.
    pub subscription_type: &'static str,
    /// `Address`: an email address, or an SNS topic's ARN.
    pub address: String,
}
