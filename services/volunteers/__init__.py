"""The volunteers service (志愿服务): volunteers and teams, posts, service orders, activities, points and rewards."""
